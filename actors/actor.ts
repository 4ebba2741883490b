/**
 * The actor contract. An actor is three pure functions over its own state; the runtime
 * (runtime/actor-host.ts) loads state by folding the journal, calls `decide`, appends the
 * events and carries out the effects. Nothing in actors/ does I/O or reads the clock.
 */
import type { Effect } from './effects.js';

export interface Decision<E, S = unknown> {
  events: E[];
  effects: Effect[];
  /** The state after `events`, when decide folded them already (saves the host doing it again). */
  state?: S;
  /**
   * The message came before one it follows (a durable call ahead of the call before it, sent
   * to another engine that has not stored it yet): not handled, and not to be acknowledged as
   * handled, so its sender stores it in the inbox behind the other, or the inbox hands it over
   * again later. Why, in words.
   */
  early?: string;
}

export interface ActorDefinition<S, M extends { id: string }, E> {
  /** Journal and mailbox subjects use this token: `<ns>.j.<type>.<id>`. */
  type: string;
  initial(id: string): S;
  decide(state: S, message: M, now: number): Decision<E, S>;
  evolve(state: S, event: E): S;
  /** A small summary stored with every journal entry, so listings read one entry per actor. */
  summarize?(state: S): unknown;
  /** Whether the actor has finished: the runtime may then drop it from memory. */
  isDone?(state: S): boolean;
}

export const noDecision: Decision<never, never> = { events: [], effects: [] };

export function earlyDecision(why: string): Decision<never, never> {
  return { events: [], effects: [], early: why };
}

export function assertNever(value: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
