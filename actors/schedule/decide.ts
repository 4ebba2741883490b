/**
 * The schedule actor: one per scheduled run. It keeps the run's definition and a durable
 * timer; when the timer goes off (or at once, for a time already past) it creates the run,
 * whose id is made of the schedule's, so the run starts once however often the turn repeats.
 */
import { assertNever, noDecision, type Decision } from '../actor.js';
import type { Effect } from '../effects.js';
import type { ScheduleEvent } from './events.js';
import type { ScheduleDefinition, ScheduleMessage } from './messages.js';
import type { ScheduleState } from './state.js';
import { runPlacementOf } from '../run/placement.js';
import { scheduleDueId, scheduleRunId, scheduleTimerId } from '../ids.js';

function runFor(id: string, schedule: ScheduleDefinition, now: number): Effect {
  return {
    type: 'startRun',
    run: {
      runId: scheduleRunId(id),
      spec: schedule.spec,
      input: schedule.input,
      additionalMetadata: { ...schedule.additionalMetadata, skein__schedule_id: id },
      priority: schedule.priority,
      unparsedInput: schedule.unparsedInput,
      at: now,
      ...runPlacementOf(schedule),
    },
  };
}

function trigger(id: string, schedule: ScheduleDefinition, now: number) {
  return {
    event: { type: 'ScheduleTriggered', runId: scheduleRunId(id), at: now } as const,
    effect: runFor(id, schedule, now),
  };
}

export function decideSchedule(
  state: ScheduleState,
  message: ScheduleMessage,
  now: number,
): Decision<ScheduleEvent, ScheduleState> {
  switch (message.type) {
    case 'CreateSchedule': {
      if (state.exists) return noDecision;
      const schedule = message.schedule;
      const created: ScheduleEvent = { type: 'ScheduleCreated', schedule, at: now };
      if (schedule.triggerAt <= now) {
        const { event, effect } = trigger(state.id, schedule, now);
        return { events: [created, event], effects: [effect] };
      }
      const timer: Effect = {
        type: 'startTimer',
        timerId: scheduleTimerId(state.id),
        dueAt: schedule.triggerAt,
        to: { type: 'schedule', id: state.id },
        message: { type: 'ScheduleDue', id: scheduleDueId(state.id) },
      };
      return { events: [created], effects: [timer] };
    }
    case 'ScheduleDue': {
      if (!state.exists || state.deleted || state.runId || !state.schedule) return noDecision;
      const { event, effect } = trigger(state.id, state.schedule, now);
      return { events: [event], effects: [effect] };
    }
    case 'DeleteSchedule':
      if (!state.exists || state.deleted) return noDecision;
      return { events: [{ type: 'ScheduleDeleted', at: now }], effects: [] };
    default:
      return assertNever(message, 'schedule message');
  }
}
