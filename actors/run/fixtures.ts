/** Builders for the run actor's tests. */
import type { RunEvent } from './events.js';
import type { RunSpec, TaskSpec } from './spec.js';

/** A task's spec with test defaults: no retries, a 60 s execution and 5 min schedule timeout. */
export const aTask = (name: string, over: Partial<TaskSpec> = {}): TaskSpec => ({
  name,
  retries: 0,
  executionTimeoutMs: 60_000,
  scheduleTimeoutMs: 300_000,
  ...over,
});

/** A run's creation at `at` (default 1 s), with an empty input and metadata unless given. */
export const aRunTriggered = (
  runId: string,
  spec: RunSpec,
  over: Partial<Extract<RunEvent, { type: 'RunTriggered' }>> = {},
): RunEvent => ({
  type: 'RunTriggered',
  runId,
  spec,
  input: {},
  additionalMetadata: {},
  priority: 1,
  at: 1_000,
  ...over,
});
