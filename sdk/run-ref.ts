/** A handle on a triggered run: its id, its result, and a way to cancel it. */
import type { RunFinished } from '../actors/effects.js';
import { RunCancelledError, RunFailedError } from './errors.js';

export interface RunRef<O = unknown> {
  readonly runId: string;
  /** Resolves with the run's output; rejects with RunFailedError or RunCancelledError. */
  result(): Promise<O>;
  /** The same promise as `result()`. */
  readonly output: Promise<O>;
  cancel(): Promise<void>;
}

export function outcome<O>(finished: RunFinished): O {
  if (finished.status === 'COMPLETED') return finished.output as O;
  if (finished.status === 'FAILED') throw new RunFailedError(finished.runId, finished.errors ?? {});
  throw new RunCancelledError(finished.runId, finished.reason ?? 'cancelled');
}

export function makeRunRef<O>(
  runId: string,
  finished: () => Promise<RunFinished>,
  cancel: () => Promise<void>,
): RunRef<O> {
  let result: Promise<O> | undefined;
  const get = () => (result ??= finished().then((f) => outcome<O>(f)));
  return {
    runId,
    result: get,
    get output() {
      return get();
    },
    cancel,
  };
}
