/** Every error Skein throws at users, each saying what to do about it. */
// SkeinError, ConnectionError and ValidationError are defined in the runtime, which throws them too.
import { SkeinError } from '../runtime/errors.js';
export { SkeinError };

/** Bad input or options: fix the call. Nothing was stored. */
export { ValidationError } from '../runtime/errors.js';

/** A task, run or other object that does not exist. */
export class NotFoundError extends SkeinError {}

/** NATS could not be reached or answered badly; the call may be retried. */
export { ConnectionError } from '../runtime/errors.js';

/** The run ended FAILED; `errors` holds each failed task's last error, `'<Class>: <message>'`. */
export class RunFailedError extends SkeinError {
  constructor(
    readonly runId: string,
    readonly errors: Record<string, string>,
  ) {
    super(
      `run ${runId} failed: ${
        Object.entries(errors)
          .map(([task, msg]) => `${task}: ${msg}`)
          .join('; ') || 'unknown error'
      }`,
    );
  }
}

/** The run ended CANCELLED. */
export class RunCancelledError extends SkeinError {
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`run ${runId} was cancelled: ${reason}`);
  }
}

/** Throw from a task to fail it at once, without the retries it has left. */
export class NonRetryableError extends SkeinError {}

/** A task ran longer than its execution timeout. */
export class TimeoutError extends SkeinError {}

/** A durable task took another path on replay than the one recorded. */
export class NonDeterminismError extends SkeinError {}
