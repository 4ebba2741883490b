/** Builders for the run actor's tests. */
import type { TaskSpec } from './spec.js';

/** A task's spec with test defaults: no retries, a 60 s execution and 5 min schedule timeout. */
export const aTask = (name: string, over: Partial<TaskSpec> = {}): TaskSpec => ({
  name,
  retries: 0,
  executionTimeoutMs: 60_000,
  scheduleTimeoutMs: 300_000,
  ...over,
});
