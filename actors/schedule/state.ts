/** The schedule actor's state, rebuilt by folding its events. */
import { assertNever } from '../actor.js';
import type { ScheduleEvent } from './events.js';
import type { ScheduleDefinition } from './messages.js';

export interface ScheduleState {
  id: string;
  exists: boolean;
  deleted: boolean;
  schedule?: ScheduleDefinition;
  createdAt?: number;
  /** Set once the run was started. */
  runId?: string;
  triggeredAt?: number;
}

export function initialScheduleState(id: string): ScheduleState {
  return { id, exists: false, deleted: false };
}

export function evolveSchedule(state: ScheduleState, event: ScheduleEvent): ScheduleState {
  switch (event.type) {
    case 'ScheduleCreated':
      return { ...state, exists: true, schedule: event.schedule, createdAt: event.at };
    case 'ScheduleTriggered':
      return { ...state, runId: event.runId, triggeredAt: event.at };
    case 'ScheduleDeleted':
      return { ...state, deleted: true };
    default:
      return assertNever(event, 'schedule event');
  }
}
