import type { ActorDefinition } from '../actor.js';
import { decideCron } from './decide.js';
import type { CronEvent } from './events.js';
import type { CronMessage } from './messages.js';
import { evolveCron, initialCronState, type CronState } from './state.js';

/** What `skein.crons.list()` reads: the summary stored with the cron's last journal entry. */
export interface CronSummary {
  name: string;
  target: string;
  expression: string;
  timezone: string;
  declarative: boolean;
  additionalMetadata: Record<string, string>;
  createdAt?: number;
  nextDueAt?: number;
  lastTickAt?: number;
  lastRunId?: string;
  deleted: boolean;
}

export const cronActor: ActorDefinition<CronState, CronMessage, CronEvent> = {
  type: 'cron',
  initial: initialCronState,
  decide: decideCron,
  evolve: evolveCron,
  summarize: (s): CronSummary => ({
    name: s.cron?.name ?? '',
    target: s.cron?.spec.name ?? '',
    expression: s.cron?.expression ?? '',
    timezone: s.cron?.timezone ?? '',
    declarative: s.cron?.declarative ?? false,
    additionalMetadata: s.cron?.additionalMetadata ?? {},
    createdAt: s.createdAt,
    nextDueAt: s.nextDueAt,
    lastTickAt: s.lastTickAt,
    lastRunId: s.lastRunId,
    deleted: s.deleted,
  }),
};

export type { CronEvent, CronMessage, CronState };
export type { CronDefinition } from './messages.js';
export { cronRunId } from '../ids.js';
export { cronProblem, DEFAULT_TIMEZONE } from './expression.js';
