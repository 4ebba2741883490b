import { describe, expect, it } from 'vitest';
import { aRunTriggered, aTask } from '../../actors/run/fixtures.js';
import type { RunEvent } from '../../actors/run/events.js';
import type { JournalEntry } from '../journal-entries.js';
import { foldEntry, summaryOf, type IndexedRun } from './fold.js';
import { RunIndexStore } from './store.js';

const entry = (...ev: RunEvent[]): JournalEntry => ({ m: 'm', at: 0, ev, fx: [] });
const task = { name: 'charge', kind: 'task' as const, tasks: [aTask('charge')] };

/** Given these entries (at sequences 1, 2, …), the run's summary. */
function given(...entries: RunEvent[][]) {
  let run: IndexedRun | undefined;
  entries.forEach((ev, i) => (run = foldEntry(run, 'r1', i + 1, entry(...ev))));
  if (!run) throw new Error('no run');
  return { run, summary: summaryOf(run) };
}

const queued = (attempt: number): RunEvent => ({
  type: 'TaskQueued',
  taskName: 'charge',
  key: `k${attempt}`,
  attempt,
  at: 1_100,
});
const started = (workerId: string, at = 1_200): RunEvent => ({
  type: 'TaskStarted',
  taskName: 'charge',
  key: 'k',
  attempt: 1,
  workerId,
  at,
});
const failed = (final: boolean): RunEvent => ({
  type: 'TaskFailed',
  taskName: 'charge',
  key: 'k',
  error: { name: 'TypeError', message: 'card declined' },
  final,
  at: 1_300,
});

describe('run index fold', () => {
  it('a run triggered and completed: times, duration, worker, attempts', () => {
    const { run, summary } = given(
      [aRunTriggered('r1', task, { additionalMetadata: { tenant: 'a' } }), queued(1)],
      [
        started('w1'),
        { type: 'TaskSucceeded', taskName: 'charge', key: 'k', output: 1, at: 1_500 },
        { type: 'RunCompleted', output: 1, at: 1_500 },
      ],
    );
    expect(summary).toMatchObject({
      id: 'r1',
      name: 'charge',
      kind: 'task',
      status: 'COMPLETED',
      createdAt: 1_000,
      startedAt: 1_200,
      finishedAt: 1_500,
      durationMs: 300,
      attempts: 1,
      error: null,
      workerIds: ['w1'],
      additionalMetadata: { tenant: 'a' },
      retrying: false,
      waitingFor: null,
      startedBy: null,
    });
    expect(run.journalSeqs).toEqual([1, 2]);
  });

  it('a failed attempt that will be retried: still RUNNING, retrying, waiting on the retry', () => {
    const { summary } = given(
      [aRunTriggered('r1', task), queued(1)],
      [
        started('w1'),
        failed(false),
        { type: 'RetryScheduled', taskName: 'charge', key: 'k2', attempt: 2, dueAt: 5_000 },
      ],
    );
    expect(summary).toMatchObject({
      status: 'RUNNING',
      retrying: true,
      attempts: 2,
      error: 'TypeError: card declined',
      errorClass: 'TypeError',
      waitingFor: "a retry of 'charge' (attempt 2)",
    });
  });

  it('a failed run: the error of the run, no longer retrying', () => {
    const { summary } = given(
      [aRunTriggered('r1', task), queued(1)],
      [started('w1'), failed(false)],
      [queued(2), started('w2'), failed(true)],
      [
        {
          type: 'RunFailed',
          errors: { charge: 'TypeError: card declined' },
          errorClass: 'TypeError',
          at: 2_000,
        },
      ],
    );
    expect(summary).toMatchObject({
      status: 'FAILED',
      retrying: false,
      attempts: 2,
      workerIds: ['w1', 'w2'],
      error: 'TypeError: card declined',
      errorClass: 'TypeError',
    });
  });

  it('a durable task waiting for an event, started by a cron, child of another run', () => {
    const durable = {
      name: 'flow',
      kind: 'task' as const,
      tasks: [aTask('flow', { durable: true })],
    };
    const { summary } = given(
      [
        aRunTriggered('r1', durable, {
          parentRunId: 'p1',
          additionalMetadata: { skein__cron_id: 'c1', skein__cron_name: 'nightly' },
        }),
      ],
      [
        {
          type: 'DurableWaitStarted',
          taskName: 'flow',
          position: 0,
          kind: 'waitForEvent',
          callKey: 'order:paid',
          conditions: [[{ kind: 'event', id: 'e', eventKey: 'order:paid' }]],
          at: 1_100,
        },
      ],
    );
    expect(summary).toMatchObject({
      kind: 'durable',
      parentRunId: 'p1',
      startedBy: { type: 'cron', id: 'c1', name: 'nightly' },
      waitingFor: "event 'order:paid'",
    });
  });

  it('a run replayed starts its summary over', () => {
    const { summary } = given(
      [aRunTriggered('r1', task), queued(1)],
      [started('w1'), failed(true), { type: 'RunFailed', errors: { charge: 'x' }, at: 1_400 }],
      [{ type: 'RunReplayed', at: 3_000 }],
    );
    expect(summary).toMatchObject({
      status: 'QUEUED',
      finishedAt: null,
      error: null,
      attempts: 0,
      retrying: false,
      workerIds: [],
    });
  });

  it('entries of a run whose creation it never saw are not a run', () => {
    expect(foldEntry(undefined, 'r9', 5, entry(started('w1')))).toBeUndefined();
  });
});

describe('run index store', () => {
  function storeOf(n: number) {
    const store = new RunIndexStore();
    for (let i = 0; i < n; i++) {
      const id = `r${String(i).padStart(3, '0')}`;
      const spec = { ...task, name: i % 2 ? 'odd' : 'even' };
      store.apply(
        id,
        2 * i + 1,
        entry(aRunTriggered(id, spec, { at: 1_000 + i, additionalMetadata: { m: String(i % 3) } })),
      );
      if (i % 4 === 0)
        store.apply(id, 2 * i + 2, entry({ type: 'RunCompleted', output: null, at: 5_000 + i }));
    }
    return store;
  }

  it('pages newest first with a cursor, through every match once', () => {
    const store = storeOf(50);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = store.page({ name: ['even'], limit: 7, cursor });
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const expected = Array.from(
      { length: 25 },
      (_, i) => `r${String(48 - 2 * i).padStart(3, '0')}`,
    );
    expect(seen).toEqual(expected);
  });

  it('combines filters with AND and counts by status', () => {
    const store = storeOf(50);
    const q = { name: ['even'], additionalMetadata: { m: '0' } };
    const ids = store.page({ ...q, limit: 100 }).runs.map((r) => r.id);
    expect(ids.every((id) => Number(id.slice(1)) % 6 === 0)).toBe(true);
    expect(ids).toHaveLength(9);
    const counts = store.counts(q);
    expect(counts).toMatchObject({ COMPLETED: 5, QUEUED: 4, RUNNING: 0, retrying: 0 });
    expect(store.counts({ status: ['COMPLETED'], since: 1_040 })).toMatchObject({ COMPLETED: 3 });
  });

  it('a record loaded past the checkpoint sequence skips the entries it already holds', () => {
    const first = new RunIndexStore();
    first.apply('r', 1, entry(aRunTriggered('r', task), queued(1)));
    first.apply('r', 5, entry(started('w1'), failed(false)));
    // A checkpoint taken at seq 3 whose slice with 'r' was encoded after seq 5 was applied.
    const loaded = new RunIndexStore();
    loaded.load(structuredClone([...first.records()]), 3);
    loaded.apply('r', 5, entry(started('w1'), failed(false)));
    loaded.apply('r', 6, entry(queued(2)));
    expect(loaded.get('r')).toMatchObject({ failedAttempts: 1, journalSeqs: [1, 5, 6] });
    expect(loaded.counts({ workerId: 'w1', retrying: true })).toMatchObject({ retrying: 1 });
  });

  it('expired: finished runs past their retention, a child kept while its parent exists', () => {
    const store = new RunIndexStore();
    store.apply('p', 1, entry(aRunTriggered('p', task)));
    store.apply('c', 2, entry(aRunTriggered('c', task, { parentRunId: 'p' })));
    store.apply('c', 3, entry({ type: 'RunCompleted', output: null, at: 2_000 }));
    const spec = { ...task, retentionMs: 10_000 };
    store.apply('own', 4, entry(aRunTriggered('own', spec)));
    store.apply('own', 5, entry({ type: 'RunCompleted', output: null, at: 2_000 }));
    expect(store.expired(5_000, 1_000, 10)).toEqual([]);
    store.forget('p');
    expect(store.expired(5_000, 1_000, 10)).toEqual([{ runId: 'c', journalSeqs: [2, 3] }]);
    expect(
      store
        .expired(20_000, 1_000, 10)
        .map((e) => e.runId)
        .sort(),
    ).toEqual(['c', 'own']);
  });
});
