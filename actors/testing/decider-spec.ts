/**
 * Given/When/Then for actors, after emmett's DeciderSpecification: given an actor's past
 * events, when a message arrives at `now`, then exactly these events (and effects).
 *
 *   deciderSpec(runActor).given([triggered]).when(cancel, 10).then([...events], [...effects]);
 *
 * The scheduler is no ActorDefinition (its state is in memory and updated in place, and it
 * dispatches after a message's events are applied), so it has its own `schedulerSpec`.
 */
import { expect } from 'vitest';
import type { ActorDefinition, Decision } from '../actor.js';
import type { Effect } from '../effects.js';
import { decideDispatches, decideScheduler, type SchedulerDecision } from '../scheduler/decide.js';
import type { SchedulerEffect, SchedulerMessage } from '../scheduler/messages.js';
import {
  defaultSchedulerConfig,
  evolveScheduler,
  initialSchedulerState,
  type SchedulerConfig,
  type SchedulerState,
} from '../scheduler/state.js';

/** What a `when` produced, with the state before it and after its events were applied. */
export interface Outcome<S, E> extends Decision<E> {
  before: S;
  after: S;
}

export interface Then<S, E> {
  /** Exactly these events, in order; and exactly these effects when given. */
  then(events: E[], effects?: Effect[]): Outcome<S, E>;
  /** No events and no effects: the message changes nothing. */
  thenNothing(): Outcome<S, E>;
  /** Any other assertion, made by `check` (e.g. with `expect`). */
  thenMatches(check: (outcome: Outcome<S, E>) => void): Outcome<S, E>;
}

export interface When<S, M, E> {
  when(message: M, now: number): Then<S, E>;
}

export interface DeciderSpec<S, M, E> extends When<S, M, E> {
  given(events: E[]): When<S, M, E>;
}

export function deciderSpec<S, M extends { id: string }, E>(
  actor: ActorDefinition<S, M, E>,
  id = 'actor-1',
): DeciderSpec<S, M, E> {
  const given = (events: E[]): When<S, M, E> => ({
    when(message, now) {
      const run = (): Outcome<S, E> => {
        const before = events.reduce((s, e) => actor.evolve(s, e), actor.initial(id));
        const snapshot = structuredClone(before);
        const decision = actor.decide(before, message, now);
        // A turn may be repeated after a crash; deciding must leave the loaded state as it was.
        expect(before, 'decide must not change the state it was given').toEqual(snapshot);
        const after = decision.events.reduce((s, e) => actor.evolve(s, e), before);
        return { ...decision, before, after };
      };
      return {
        then(expectedEvents, expectedEffects) {
          const outcome = run();
          expect(outcome.events).toEqual(expectedEvents);
          if (expectedEffects) expect(outcome.effects).toEqual(expectedEffects);
          return outcome;
        },
        thenNothing() {
          const outcome = run();
          expect({ events: outcome.events, effects: outcome.effects }).toEqual({
            events: [],
            effects: [],
          });
          return outcome;
        },
        thenMatches(check) {
          const outcome = run();
          check(outcome);
          return outcome;
        },
      };
    },
  });
  return { given, when: (message, now) => given([]).when(message, now) };
}

// ---------------------------------------------------------------------------------------
// The scheduler

/** One scheduler turn as its host runs it: decide, apply, then dispatch on the new state. */
export interface SchedulerTurn extends SchedulerDecision {
  /** The events and effects of the message alone, before dispatching. */
  decided: SchedulerDecision;
  /** What the pump dispatched after the message's events were applied. */
  pumped: SchedulerDecision;
}

/**
 * Runs one message through the scheduler like runtime/scheduler-host.ts `receive` does,
 * updating `state` in place. `beforePump` sees the state between the two halves.
 */
export function schedulerTurn(
  state: SchedulerState,
  message: SchedulerMessage,
  now: number,
  beforePump?: (state: SchedulerState) => void,
): SchedulerTurn {
  const decided = decideScheduler(state, message, now);
  for (const event of decided.events) evolveScheduler(state, event);
  beforePump?.(state);
  const pumped = decideDispatches(state, now);
  for (const event of pumped.events) evolveScheduler(state, event);
  return {
    decided,
    pumped,
    events: [...decided.events, ...pumped.events],
    effects: [...decided.effects, ...pumped.effects],
  };
}

/** A message the scheduler received at a given time (the clock is the host's). */
export interface TimedMessage {
  at: number;
  message: SchedulerMessage;
}

export const at = (time: number, message: SchedulerMessage): TimedMessage => ({
  at: time,
  message,
});

export interface SchedulerOptions {
  /** When the scheduler started (default 0). */
  startedAt?: number;
  /** How long redelivered entries wait for a claim (default 0: a fresh scheduler with nothing to rebuild). */
  holdMs?: number;
  config?: Partial<SchedulerConfig>;
}

export interface SchedulerThen {
  /** Exactly these effects, in order (the scheduler's events are its private bookkeeping). */
  then(effects: SchedulerEffect[]): SchedulerTurn & { state: SchedulerState };
  thenNothing(): SchedulerTurn & { state: SchedulerState };
  thenMatches(
    check: (turn: SchedulerTurn, state: SchedulerState) => void,
  ): SchedulerTurn & { state: SchedulerState };
}

/**
 * Given what the scheduler received so far (each at its time, or at `startedAt`), when
 * `message` arrives at `now`, then these effects.
 */
export function schedulerSpec(options: SchedulerOptions = {}) {
  const startedAt = options.startedAt ?? 0;
  const given = (history: (SchedulerMessage | TimedMessage)[]) => ({
    when(message: SchedulerMessage, now: number): SchedulerThen {
      const run = () => {
        const state = initialSchedulerState(startedAt, options.holdMs ?? 0, {
          ...defaultSchedulerConfig,
          ...options.config,
        });
        for (const step of history) {
          const timed = 'message' in step ? step : { at: startedAt, message: step };
          schedulerTurn(state, timed.message, timed.at);
        }
        return { ...schedulerTurn(state, message, now), state };
      };
      return {
        then(effects) {
          const turn = run();
          expect(turn.effects).toEqual(effects);
          return turn;
        },
        thenNothing() {
          const turn = run();
          expect(turn.effects).toEqual([]);
          return turn;
        },
        thenMatches(check) {
          const turn = run();
          check(turn, turn.state);
          return turn;
        },
      };
    },
  });
  return { given, when: (message: SchedulerMessage, now: number) => given([]).when(message, now) };
}
