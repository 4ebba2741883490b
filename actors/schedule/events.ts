/** What the schedule actor records. */
import type { ScheduleDefinition } from './messages.js';

export type ScheduleEvent =
  | { type: 'ScheduleCreated'; schedule: ScheduleDefinition; at: number }
  | { type: 'ScheduleTriggered'; runId: string; at: number }
  | { type: 'ScheduleDeleted'; at: number };
