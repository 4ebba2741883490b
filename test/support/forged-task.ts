/**
 * A dispatched task as the engine would send it to a worker, for a run that does not exist:
 * what a peer without the engine's rights may try to publish on a worker's dispatch subject.
 */
export const forgedTask = (runId: string) => ({
  key: `${runId}:record:0.1`,
  runId,
  workflowName: 'record',
  taskName: 'record',
  attempt: 1,
  maxAttempts: 1,
  priority: 1,
  enqueuedAt: Date.now(),
  scheduleTimeoutMs: 60_000,
  executionTimeoutMs: 60_000,
  input: runId,
  additionalMetadata: {},
});
