import type { ActorDefinition } from '../actor.js';
import { decideSchedule } from './decide.js';
import type { ScheduleEvent } from './events.js';
import type { ScheduleMessage } from './messages.js';
import { evolveSchedule, initialScheduleState, type ScheduleState } from './state.js';

/** What `skein.schedules.list()` reads: the summary stored with the schedule's last entry. */
export interface ScheduleSummary {
  target: string;
  triggerAt: number;
  additionalMetadata: Record<string, string>;
  createdAt?: number;
  runId?: string;
  triggeredAt?: number;
  deleted: boolean;
}

export const scheduleActor: ActorDefinition<ScheduleState, ScheduleMessage, ScheduleEvent> = {
  type: 'schedule',
  initial: initialScheduleState,
  decide: decideSchedule,
  evolve: evolveSchedule,
  summarize: (s): ScheduleSummary => ({
    target: s.schedule?.spec.name ?? '',
    triggerAt: s.schedule?.triggerAt ?? 0,
    additionalMetadata: s.schedule?.additionalMetadata ?? {},
    createdAt: s.createdAt,
    runId: s.runId,
    triggeredAt: s.triggeredAt,
    deleted: s.deleted,
  }),
  isDone: (s) => s.deleted || s.runId !== undefined,
};

export type { ScheduleEvent, ScheduleMessage, ScheduleState };
export type { ScheduleDefinition } from './messages.js';
export { scheduleRunId } from '../ids.js';
