/** What durable task code may call, on top of `Context`. The implementation is in durable-context-impl.ts. */
import type { Conditions } from './conditions.js';
import type { Context } from './context.js';
import type { Duration } from './duration.js';

/**
 * Every call below is a durable call: it takes the next position in the task's history and is
 * recorded in the run's journal. When the task is resumed or retried, its code runs again from
 * the top and each recorded call returns its recorded result at once. Code between durable
 * calls must take the same path every time, or the attempt fails with `NonDeterminismError`.
 * `ctx.log` lines written while the code replays recorded calls are not stored again.
 */
export interface DurableContext<I = unknown> extends Context<I> {
  /** Sleeps durably; the worker slot is given back meanwhile. Resolves with the time slept. */
  sleepFor(duration: Duration): Promise<{ durationMs: number }>;
  /** Sleeps durably until `date` (at once if it has passed). */
  sleepUntil(date: Date): Promise<{ durationMs: number }>;
  /**
   * Waits for an event with `key` pushed from now on (whose payload `expression`, CEL over
   * `input`, accepts; with `scope`, only one pushed with that scope). Resolves with its payload.
   */
  waitForEvent<T = unknown>(
    key: string,
    expression?: string,
    opts?: { scope?: string },
  ): Promise<T>;
  /**
   * Waits until the conditions hold (a list: all; `Or(...)`: the first). Resolves with
   * `{ [readableDataKey]: data }` for each condition that held: a sleep's `{ durationMs }`, an
   * event's payload. The key defaults to 'sleep' for a sleep and the event key for an event.
   */
  waitFor(conditions: Conditions): Promise<Record<string, unknown>>;
  /** Runs `fn(...args)` once and records its (JSON) result; later replays return that result. */
  memo<T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T>;
  /** The time, recorded: equal on every replay. */
  now(): Promise<Date>;
  /** A random id, recorded: equal on every replay. */
  uuid(): Promise<string>;
}
