/**
 * The cron actor: one per cron. Its next tick is a durable timer; when the timer goes off,
 * the tick's run is created with an id made of the cron's id and the tick's time, so a
 * tick runs once however often its turn is repeated. A timer that went off late (no engine
 * was running) runs the latest tick due, once, and the missed ones not at all.
 */
import { assertNever, noDecision, type Decision } from '../actor.js';
import type { Effect } from '../effects.js';
import type { CronEvent } from './events.js';
import { latestTick, nextTick } from './expression.js';
import type { CronDefinition, CronMessage } from './messages.js';
import type { CronState } from './state.js';
import { sameValue } from '../same-value.js';
import { runPlacementOf } from '../run/placement.js';
import { cronDueId, cronRunId, cronTimerId } from '../ids.js';

function timerFor(cronId: string, dueAt: number): Effect {
  return {
    type: 'startTimer',
    timerId: cronTimerId(cronId, dueAt),
    dueAt,
    to: { type: 'cron', id: cronId },
    message: { type: 'CronDue', id: cronDueId(cronId, dueAt), dueAt },
  };
}

function runFor(cronId: string, cron: CronDefinition, tickAt: number, now: number): Effect {
  return {
    type: 'startRun',
    run: {
      runId: cronRunId(cronId, tickAt),
      spec: cron.spec,
      input: cron.input,
      additionalMetadata: {
        ...cron.additionalMetadata,
        skein__cron_id: cronId,
        skein__cron_name: cron.name,
        skein__cron_tick: new Date(tickAt).toISOString(),
      },
      priority: cron.priority,
      unparsedInput: cron.unparsedInput,
      at: now,
      ...runPlacementOf(cron),
    },
  };
}

export function decideCron(
  state: CronState,
  message: CronMessage,
  now: number,
): Decision<CronEvent, CronState> {
  switch (message.type) {
    case 'DefineCron': {
      const live = state.exists && !state.deleted;
      if (live && sameValue(state.cron, message.cron)) return noDecision;
      const { expression, timezone } = message.cron;
      const nextDueAt = nextTick(expression, timezone, now);
      return {
        events: [{ type: 'CronDefined', cron: message.cron, nextDueAt, at: now }],
        effects: nextDueAt === state.nextDueAt ? [] : [timerFor(state.id, nextDueAt)],
      };
    }
    case 'CronDue': {
      const cron = state.cron;
      if (!state.exists || state.deleted || !cron || message.dueAt !== state.nextDueAt)
        return noDecision;
      const tickAt = Math.max(message.dueAt, latestTick(cron.expression, cron.timezone, now));
      const nextDueAt = nextTick(cron.expression, cron.timezone, Math.max(now, tickAt));
      const runId = cronRunId(state.id, tickAt);
      return {
        events: [{ type: 'CronTicked', tickAt, runId, nextDueAt, at: now }],
        effects: [runFor(state.id, cron, tickAt, now), timerFor(state.id, nextDueAt)],
      };
    }
    case 'DeleteCron':
      if (!state.exists || state.deleted) return noDecision;
      return { events: [{ type: 'CronDeleted', at: now }], effects: [] };
    default:
      return assertNever(message, 'cron message');
  }
}
