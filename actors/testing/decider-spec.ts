/**
 * Given/When/Then for actors, after emmett's DeciderSpecification: given an actor's past
 * events, when a message arrives at `now`, then exactly these events (and effects).
 *
 *   deciderSpec(runActor).given([triggered]).when(cancel, 10).then([...events], [...effects]);
 *
 * The scheduler is no ActorDefinition but a mutable state machine (actors/scheduler/README.md):
 * its harness is scheduler-spec.ts.
 */
import { expect } from 'vitest';
import type { ActorDefinition, Decision } from '../actor.js';
import type { Effect } from '../effects.js';

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
  /** Neither handled nor dropped: the message came before one it follows (Decision.early). */
  thenEarly(): Outcome<S, E>;
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
          expect({
            events: outcome.events,
            effects: outcome.effects,
            early: outcome.early,
          }).toEqual({
            events: [],
            effects: [],
            early: undefined,
          });
          return outcome;
        },
        thenEarly() {
          const outcome = run();
          expect({ events: outcome.events, effects: outcome.effects }).toEqual({
            events: [],
            effects: [],
          });
          expect(outcome.early).toEqual(expect.any(String));
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
