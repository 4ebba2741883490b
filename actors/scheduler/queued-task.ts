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
  /** A durable task: counts against durable slots, and its worker replays its recorded calls. */
  durable?: boolean;
  /** Queued again after the durable call at `position` resolved with `result`. */
  resume?: { position: number; result: unknown };
  /** The worker that may still hold this durable task in memory (it resumes without replay). */
  preferredWorkerId?: string;
}

/** Names a durable task a worker holds in memory while it waits (one per run and task). */
export const heldId = (task: Pick<QueuedTask, 'runId' | 'taskName'>) =>
  `${task.runId}/${task.taskName}`;

/** `<runId>:<task>:<generation>.<attempt>`, plus `~<n>` for a durable task's n-th resumption. */
export function queueKey(
  runId: string,
  taskName: string,
  generation: number,
  attempt: number,
  resume = 0,
) {
  const key = `${runId}:${taskName}:${generation}.${attempt}`;
  return resume > 0 ? `${key}~${resume}` : key;
}
