/** The shape of what a run executes, copied into the run when it is triggered. */
import type { LabelWish } from '../scheduler/queued-task.js';
import type { RateLimitSpec, StickyStrategy } from './placement.js';

/** One condition of a workflow task; `id` is unique within the task. */
export type ConditionSpec = (
  | /** Holds `ms` after the wait started, or at `untilMs` when given (a durable `sleepUntil`). */
    { kind: 'sleep'; id: string; ms: number; untilMs?: number }
    /** CEL over the parent's `output`; an empty expression holds once the parent succeeded. */
  | { kind: 'parent'; id: string; parent: string; expression?: string }
  /** An event pushed with `eventKey` (since `sinceMs`, else since the task started waiting), CEL over its payload as `input`; with `scope`, only events pushed with that scope. */
  | {
      kind: 'event';
      id: string;
      eventKey: string;
      expression?: string;
      sinceMs?: number;
      scope?: string;
    }
) & {
  /** Where a durable `waitFor` puts this condition's data in its result (default: the id). */
  readableDataKey?: string;
};

/** AND over the groups, OR within a group. */
export type ConditionExpr = ConditionSpec[][];

export type ConcurrencyStrategy = 'GROUP_ROUND_ROBIN' | 'CANCEL_IN_PROGRESS' | 'CANCEL_NEWEST';

/** A concurrency limit: at most `maxRuns` at once per value of `expression` (CEL over input and additionalMetadata). */
export interface ConcurrencySpec {
  expression: string;
  maxRuns: number;
  strategy: ConcurrencyStrategy;
}

export interface TaskSpec {
  name: string;
  retries: number;
  backoff?: { factor?: number; maxSeconds?: number };
  executionTimeoutMs: number;
  scheduleTimeoutMs: number;
  /** Tasks whose success this one waits for (workflows). */
  parents?: string[];
  /** A workflow's onFailure / onSuccess task: runs after the others, not part of the output. */
  role?: 'onFailure' | 'onSuccess';
  /** Hold the task until these hold. */
  waitFor?: ConditionExpr;
  /** Skip the task (output `{ skipped: true }`) if these hold. */
  skipIf?: ConditionExpr;
  /** Cancel the run if these hold. */
  cancelIf?: ConditionExpr;
  /** A durable task: its durable calls are recorded, and it is resumed by replay. */
  durable?: boolean;
  /** Limits on this task's runs at once, per key (a workflow task's own `concurrency`). */
  concurrency?: ConcurrencySpec[];
  /** Spent when it starts; it waits in the queue while one is used up. */
  rateLimits?: RateLimitSpec[];
  desiredWorkerLabels?: Record<string, LabelWish>;
}

export interface RunSpec {
  /** The task's or workflow's registered name. */
  name: string;
  kind: 'task' | 'workflow';
  tasks: TaskSpec[];
  /** Limits on runs at once, per key (a standalone task's or a workflow's `concurrency`). */
  concurrency?: ConcurrencySpec[];
  /** Keep the run's tasks on the worker that ran its first one. */
  sticky?: StickyStrategy;
  /** How long the run is kept once finished; default: the engine's retention. */
  retentionMs?: number;
}

/** Delay before retry `n` (1-based): factor^n seconds, capped at maxSeconds; none without backoff. */
export function retryDelayMs(spec: TaskSpec, retryNumber: number): number {
  if (!spec.backoff) return 0;
  const factor = spec.backoff.factor ?? 2;
  const seconds = Math.pow(factor, retryNumber);
  const capped =
    spec.backoff.maxSeconds === undefined ? seconds : Math.min(seconds, spec.backoff.maxSeconds);
  return Math.max(0, Math.round(capped * 1000));
}
