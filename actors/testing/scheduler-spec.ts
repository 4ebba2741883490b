/**
 * Given/When/Then for the scheduler, a mutable state machine rather than a decider
 * (actors/scheduler/README.md): given the messages it received, when one more arrives, then
 * these effects. Each message runs as its host runs it: decide, apply, pump, apply.
 */
import { expect } from 'vitest';
import { decideDispatches, decideScheduler, type SchedulerDecision } from '../scheduler/decide.js';
import type { SchedulerEffect, SchedulerMessage } from '../scheduler/messages.js';
import {
  defaultSchedulerConfig,
  evolveScheduler,
  initialSchedulerState,
  type SchedulerConfig,
  type SchedulerState,
} from '../scheduler/state.js';

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
