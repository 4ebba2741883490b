import type { TraceContext } from '../trace-context.js';

/** Units of a rate limit a task run spends when it starts; a dynamic key brings its own limit. */
export interface RateLimitUse {
  key: string;
  units: number;
  limit?: number;
  durationMs?: number;
}

/** How a worker's label value is compared with the wanted one; the one list the wire and the SDK use. */
export const LABEL_COMPARATORS = [
  'EQUAL',
  'NOT_EQUAL',
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL',
] as const;
export type LabelComparator = (typeof LABEL_COMPARATORS)[number];

/** A worker label a task wants: a required one is never violated, the others weigh in (default 100). */
export interface LabelWish {
  value: string | number;
  required?: boolean;
  weight?: number;
  comparator?: LabelComparator;
}

/**
 * Keep the run's tasks on one worker: soft prefers it, hard waits for it. `workerId` is the one
 * that ran the run's first task, once the run knows it; before that the scheduler keeps the
 * run's task runs where it sent the first of them.
 */
export interface StickyPlacement {
  strategy: 'soft' | 'hard';
  workerId?: string;
}

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
  /** Spent when the task run starts; it waits while any of them is used up. */
  rateLimits?: RateLimitUse[];
  desiredLabels?: Record<string, LabelWish>;
  sticky?: StickyPlacement;
  /** The run's trace context and link (RunCreation's `trace`, `traceLink`), for the attempt's span. */
  trace?: TraceContext;
  traceLink?: TraceContext;
  /** The task cannot be placed as declared (a dynamic rate-limit key failed): its worker fails it. */
  placementError?: string;
}

/**
 * A task's identity: its workflow's name (a standalone task's own) and its name in it. Workers
 * say what they serve, and the scheduler places task runs, by it; task names alone repeat
 * across workflows. Unambiguous whatever characters the names hold.
 */
export const taskIdentity = (workflowName: string, taskName: string) =>
  JSON.stringify([workflowName, taskName]);

/** Names a durable task a worker holds in memory while it waits (one per run and task). */
export const heldId = (task: Pick<QueuedTask, 'runId' | 'taskName'>) =>
  `${task.runId}/${task.taskName}`;

export { queueKey } from '../ids.js';
