/** What the cron actor records. */
import type { CronDefinition } from './messages.js';

export type CronEvent =
  | { type: 'CronDefined'; cron: CronDefinition; nextDueAt: number; at: number }
  /** A tick ran `runId`; ticks missed while no engine ran are folded into this one. */
  | { type: 'CronTicked'; tickAt: number; runId: string; nextDueAt: number; at: number }
  | { type: 'CronDeleted'; at: number };
