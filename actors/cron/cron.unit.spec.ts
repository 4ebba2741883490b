import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import { cronActor, cronProblem, type CronDefinition, type CronEvent } from './index.js';

const T = (iso: string) => Date.parse(iso);
const spec = { name: 'report', kind: 'task' as const, tasks: [] };
const everyMinute: CronDefinition = {
  name: 'minutely',
  spec,
  expression: '* * * * *',
  timezone: 'UTC',
  input: { full: true },
  additionalMetadata: {},
  declarative: false,
};
const defined = (cron: CronDefinition, nextDueAt: number, at: number): CronEvent => ({
  type: 'CronDefined',
  cron,
  nextDueAt,
  at,
});
const timer = (dueAt: number) => ({
  type: 'startTimer' as const,
  timerId: `cron:c1:${dueAt}`,
  dueAt,
  to: { type: 'cron', id: 'c1' },
  message: { type: 'CronDue', id: `cron-due:c1:${dueAt}`, dueAt },
});
const run = (tickAt: number, at: number) => ({
  type: 'startRun' as const,
  run: {
    runId: `cron-c1-${tickAt}`,
    spec,
    input: { full: true },
    additionalMetadata: {
      skein__cron_id: 'c1',
      skein__cron_name: 'minutely',
      skein__cron_tick: new Date(tickAt).toISOString(),
    },
    priority: undefined,
    unparsedInput: undefined,
    at,
  },
});

const cron = deciderSpec(cronActor, 'c1');
const t0 = T('2026-03-01T10:00:20Z');
const m1 = T('2026-03-01T10:01:00Z');
const m2 = T('2026-03-01T10:02:00Z');

describe('cron actor', () => {
  it('given nothing, when defined, then it records the cron and sets a timer for the next tick', () => {
    cron
      .when({ type: 'DefineCron', id: 'd1', cron: everyMinute }, t0)
      .then([defined(everyMinute, m1, t0)], [timer(m1)]);
  });

  it('given a cron, when the same definition comes again (a worker re-registers), then nothing', () => {
    cron
      .given([defined(everyMinute, m1, t0)])
      .when({ type: 'DefineCron', id: 'd2', cron: { ...everyMinute } }, t0 + 5000)
      .thenNothing();
  });

  it('given a cron, when redefined with another expression, then a timer for its next tick', () => {
    const hourly = { ...everyMinute, expression: '@hourly' };
    const h = T('2026-03-01T11:00:00Z');
    cron
      .given([defined(everyMinute, m1, t0)])
      .when({ type: 'DefineCron', id: 'd2', cron: hourly }, t0)
      .then([defined(hourly, h, t0)], [timer(h)]);
  });

  it('given a cron, when its tick is due, then the tick runs once and the next is timed', () => {
    cron
      .given([defined(everyMinute, m1, t0)])
      .when({ type: 'CronDue', id: `cron-due:c1:${m1}`, dueAt: m1 }, m1 + 40)
      .then(
        [{ type: 'CronTicked', tickAt: m1, runId: `cron-c1-${m1}`, nextDueAt: m2, at: m1 + 40 }],
        [run(m1, m1 + 40), timer(m2)],
      );
  });

  it('given a timer that fires a moment early, when due, then it still runs that tick', () => {
    cron
      .given([defined(everyMinute, m1, t0)])
      .when({ type: 'CronDue', id: 'x', dueAt: m1 }, m1 - 2)
      .thenMatches(({ events }) =>
        expect(events).toMatchObject([{ type: 'CronTicked', tickAt: m1, nextDueAt: m2 }]),
      );
  });

  it('given ticks missed while no engine ran, when the late timer fires, then only the latest tick runs', () => {
    const late = T('2026-03-01T10:07:30Z');
    const m7 = T('2026-03-01T10:07:00Z');
    cron
      .given([defined(everyMinute, m1, t0)])
      .when({ type: 'CronDue', id: 'x', dueAt: m1 }, late)
      .then(
        [
          {
            type: 'CronTicked',
            tickAt: m7,
            runId: `cron-c1-${m7}`,
            nextDueAt: T('2026-03-01T10:08:00Z'),
            at: late,
          },
        ],
        [run(m7, late), timer(T('2026-03-01T10:08:00Z'))],
      );
  });

  it('given a tick that ran, when its timer fires again, then nothing (a stale timer)', () => {
    cron
      .given([
        defined(everyMinute, m1, t0),
        { type: 'CronTicked', tickAt: m1, runId: `cron-c1-${m1}`, nextDueAt: m2, at: m1 },
      ])
      .when({ type: 'CronDue', id: 'again', dueAt: m1 }, m1 + 100)
      .thenNothing();
  });

  it('given a deleted cron, when its timer fires, then nothing; and deleting twice records once', () => {
    const deleted: CronEvent = { type: 'CronDeleted', at: t0 + 1 };
    cron
      .given([defined(everyMinute, m1, t0), deleted])
      .when({ type: 'CronDue', id: 'x', dueAt: m1 }, m1)
      .thenNothing();
    cron
      .given([defined(everyMinute, m1, t0), deleted])
      .when({ type: 'DeleteCron', id: 'del2' }, t0 + 2)
      .thenNothing();
    cron
      .given([defined(everyMinute, m1, t0)])
      .when({ type: 'DeleteCron', id: 'del' }, t0 + 1)
      .then([deleted], []);
  });

  it('follows the timezone it was given', () => {
    const paris = { ...everyMinute, expression: '0 2 * * *', timezone: 'Europe/Paris' };
    cron
      .when({ type: 'DefineCron', id: 'd1', cron: paris }, t0)
      .thenMatches(({ events }) =>
        expect(events).toMatchObject([{ nextDueAt: T('2026-03-02T01:00:00Z') }]),
      );
  });
});

describe('cron expressions', () => {
  it('takes 5 fields and the aliases', () => {
    for (const e of ['*/5 * * * *', '0 2 * * MON-FRI', '@yearly', '@annually', '@monthly'])
      expect(cronProblem(e)).toBeUndefined();
    for (const e of ['@weekly', '@daily', '@midnight', '@hourly', '0 0 1 JAN THU'])
      expect(cronProblem(e)).toBeUndefined();
  });

  it('names what is wrong with a bad one', () => {
    expect(cronProblem('* * * *')).toMatch(/must have 5 fields/);
    expect(cronProblem('* * * * * *')).toMatch(/must have 5 fields/);
    expect(cronProblem('61 * * * *')).toMatch(/'61 \* \* \* \*' is invalid/);
    expect(cronProblem('@sometimes')).toMatch(/unknown cron alias/);
    expect(cronProblem('')).toMatch(/non-empty string/);
    expect(cronProblem('H * * * *')).toMatch(/'H'/);
    expect(cronProblem('* * * * *', 'Mars/Olympus')).toMatch(/unknown timezone/);
  });
});
