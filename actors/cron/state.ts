/** The cron actor's state, rebuilt by folding its events. */
import { assertNever } from '../actor.js';
import type { CronEvent } from './events.js';
import type { CronDefinition } from './messages.js';

export interface CronState {
  id: string;
  exists: boolean;
  deleted: boolean;
  cron?: CronDefinition;
  createdAt?: number;
  /** The tick whose timer is pending: a timer for any other time is stale. */
  nextDueAt?: number;
  lastTickAt?: number;
  lastRunId?: string;
}

export function initialCronState(id: string): CronState {
  return { id, exists: false, deleted: false };
}

export function evolveCron(state: CronState, event: CronEvent): CronState {
  switch (event.type) {
    case 'CronDefined':
      return {
        ...state,
        exists: true,
        deleted: false,
        cron: event.cron,
        nextDueAt: event.nextDueAt,
        createdAt: state.exists && !state.deleted ? state.createdAt : event.at,
      };
    case 'CronTicked':
      return {
        ...state,
        lastTickAt: event.tickAt,
        lastRunId: event.runId,
        nextDueAt: event.nextDueAt,
      };
    case 'CronDeleted':
      return { ...state, deleted: true, nextDueAt: undefined };
    default:
      return assertNever(event, 'cron event');
  }
}
