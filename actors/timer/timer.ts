/**
 * The timer actor: a due time and a message for a target actor. Timers are kept in the
 * timer stream; the runtime asks this function what to do each time one is delivered.
 */
import type { ActorRef } from '../effects.js';

export interface Timer {
  timerId: string;
  dueAt: number;
  to: ActorRef;
  message: { id: string; type: string } & Record<string, unknown>;
}

/** Timers within this much of their due time fire now rather than wait another delivery. */
const FIRE_EARLY_MS = 2;

type TimerDecision = { type: 'fire' } | { type: 'wait'; delayMs: number };

export function decideTimer(timer: Timer, now: number): TimerDecision {
  const remaining = timer.dueAt - now;
  return remaining <= FIRE_EARLY_MS ? { type: 'fire' } : { type: 'wait', delayMs: remaining };
}
