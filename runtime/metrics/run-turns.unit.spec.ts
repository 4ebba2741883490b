import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../journal-entries.js';
import { EngineMetrics } from './engine-metrics.js';
import type { RunBefore } from './run-turns.js';

const metrics = () =>
  new EngineMetrics({
    logger: pino({ level: 'silent' }),
    now: () => 0,
    scheduler: () => undefined,
    leading: () => false,
  });
const entry = (...ev: unknown[]): JournalEntry => ({ m: 'm', at: 0, ev, fx: [] });
const before = (tasks: Record<string, string>): RunBefore =>
  ({
    spec: { name: 'wf' },
    createdAt: 1_000,
    tasks: Object.fromEntries(
      Object.entries(tasks).map(([name, status]) => [name, { name, status, startedAt: 1_500 }]),
    ),
  }) as unknown as RunBefore;
const sample = async (m: EngineMetrics, series: string) => {
  const line = (await m.render()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
const attempts = (task: string, outcome: string) =>
  `skein_task_attempts_total{workflow="wf",task="${task}",outcome="${outcome}"}`;

describe('run turn metrics', () => {
  it('counts a lost attempt once, and cancellations only of attempts that were live', async () => {
    const m = metrics();
    m.runTurn(
      entry({
        type: 'TaskRequeued',
        taskName: 'a',
        key: 'k',
        workerId: 'w',
        reason: 'lost',
        at: 2,
      }),
      before({ a: 'RUNNING' }),
    );
    m.runTurn(
      entry(
        { type: 'TaskCancelled', taskName: 'a', reason: 'x', at: 3_000 },
        { type: 'TaskCancelled', taskName: 'b', reason: 'x', at: 3_000 },
        { type: 'TaskCancelled', taskName: 'c', reason: 'x', at: 3_000 },
        { type: 'RunCancelled', reason: 'x', at: 3_000 },
      ),
      before({ a: 'QUEUED', b: 'PENDING', c: 'SUSPENDED' }),
    );
    expect(await sample(m, attempts('a', 'lost'))).toBe(1);
    expect(await sample(m, attempts('a', 'cancelled'))).toBe(1);
    expect(await sample(m, attempts('b', 'cancelled'))).toBeUndefined(); // never attempted
    expect(await sample(m, attempts('c', 'cancelled'))).toBe(1);
    expect(await sample(m, 'skein_runs_finished_total{name="wf",status="CANCELLED"}')).toBe(1);
    expect(await sample(m, 'skein_run_duration_seconds_sum{name="wf",status="CANCELLED"}')).toBe(2);
  });

  it("times a durable task's attempt from its start recorded in an earlier turn", async () => {
    const m = metrics();
    m.runTurn(
      entry({ type: 'TaskSucceeded', taskName: 'd', key: 'k', output: null, at: 2_000 }),
      before({ d: 'RUNNING' }),
    );
    expect(await sample(m, 'skein_task_duration_seconds_sum{name="d"}')).toBe(0.5);
    expect(await sample(m, attempts('d', 'succeeded'))).toBe(1);
  });
});
