import type { ActorDefinition } from '../actor.js';
import { decideConcurrency } from './decide.js';
import type { ConcurrencyEvent } from './events.js';
import type { ConcurrencyMessage } from './messages.js';
import { evolveConcurrency, initialConcurrencyState, type ConcurrencyState } from './state.js';

/** What `runs.get` and the bench read: how full the group is. */
export interface ConcurrencySummary {
  maxRuns: number;
  running: number;
  waiting: number;
}

export const concurrencyActor: ActorDefinition<
  ConcurrencyState,
  ConcurrencyMessage,
  ConcurrencyEvent
> = {
  type: 'concurrency',
  initial: initialConcurrencyState,
  decide: decideConcurrency,
  evolve: evolveConcurrency,
  summarize: (s): ConcurrencySummary => ({
    maxRuns: s.maxRuns,
    running: s.running.length,
    waiting: s.waiting.length,
  }),
};

export type { ConcurrencyEvent, ConcurrencyMessage, ConcurrencyState };
export type { ConcurrencyStrategy } from './messages.js';
