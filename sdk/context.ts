/** What task code may call. The implementation is in context-impl.ts. */
import type { Logger } from 'pino';
import type { Duration } from './duration.js';

/** Anything with a name that produced an output in this run (a task declaration). */
export interface TaskLike<O = unknown> {
  readonly name: string;
  /** Type-level only: the output type, so `ctx.parentOutput(task)` is typed. */
  readonly __output?: O;
}

/**
 * A pino logger whose level methods take pino's `(obj, msg)` and also `(msg, obj)`, the order
 * other SDKs use: either way the object's fields are kept in the line.
 */
export type TaskLogger = Logger &
  Record<
    'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal',
    (msg: string, extra: object) => void
  >;

export interface Context<I = unknown> {
  /** The parsed input of the run. */
  readonly input: I;
  /** A parent task's output; throws if that parent was skipped or has no output. */
  parentOutput<O>(task: TaskLike<O>): O;
  /** Same as parentOutput. */
  taskOutput<O>(task: TaskLike<O>): O;
  /** Stores a log line with this task run; `skein.runs.logs(runId)` returns them. */
  log(message: string | object): void;
  /** A pino logger whose lines are stored like `log`'s; `info('msg', { extra })` works too. */
  readonly logger: TaskLogger;
  /**
   * Publishes `chunk` (JSON, at most 64 KiB encoded) to `skein.runs.subscribeToStream(runId)`
   * subscribers: not stored, so only those subscribed now see it; in order per run.
   */
  putStream(chunk: unknown): void;
  /** Extends this attempt's execution deadline by `duration` (recorded in the run's history). */
  refreshTimeout(duration: Duration): Promise<void>;
  /** Cancels this run; `signal` aborts. */
  cancel(): Promise<void>;
  /** Aborted when the run is cancelled or this attempt times out. */
  readonly signal: AbortSignal;
  /** 0 on the first attempt. */
  readonly retryCount: number;
  /** 1 on the first attempt. */
  readonly attemptNumber: number;
  /** retries + 1. */
  readonly maxAttempts: number;
  /** In onFailure: each failed task's last error, `'<Class>: <message>'` (e.g. `'TypeError: …'`). */
  readonly taskRunErrors: Record<string, string>;
  readonly runId: string;
  readonly taskRunId: string;
  readonly taskName: string;
  readonly workflowName: string;
  readonly workerId: string;
  readonly priority: number;
  readonly additionalMetadata: Record<string, string>;
}
