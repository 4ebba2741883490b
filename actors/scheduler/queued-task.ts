/** A task run waiting for a worker: what the run actor hands to the scheduler. */
export interface QueuedTask {
  /** `<runId>:<task>:<generation>.<attempt>`; unique per attempt. */
  key: string;
  runId: string;
  workflowName: string;
  taskName: string;
  attempt: number;
  maxAttempts: number;
  priority: number;
  enqueuedAt: number;
  scheduleTimeoutMs: number;
  executionTimeoutMs: number;
  input: unknown;
  /** The worker must parse `input` with the task's inputValidator (the trigger was by name). */
  unparsedInput?: boolean;
  additionalMetadata: Record<string, string>;
  parentOutputs?: Record<string, unknown>;
  /** For an onFailure task: the last error of each failed task. */
  taskRunErrors?: Record<string, string>;
}

export function queueKey(runId: string, taskName: string, generation: number, attempt: number) {
  return `${runId}:${taskName}:${generation}.${attempt}`;
}
