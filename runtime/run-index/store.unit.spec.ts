import { describe, expect, it } from 'vitest';
import { aRunTriggered, aTask } from '../../actors/run/fixtures.js';
import type { RunEvent } from '../../actors/run/events.js';
import type { JournalEntry } from '../journal-entries.js';
import type { RunFilter } from '../protocol-api.js';
import { matches, RunIndexStore, statusOf, type LiveRuns } from './store.js';

const spec = { name: 'charge', kind: 'task' as const, tasks: [aTask('charge')] };
const entry = (...ev: RunEvent[]): JournalEntry => ({ m: 'm', at: 0, ev, fx: [] });

/** `n` runs created at these times, stored in the order given (as their journal holds them). */
function storeOf(createdAts: number[], tenantOf = (_i: number) => 'a') {
  const store = new RunIndexStore();
  createdAts.forEach((at, i) => {
    const id = `r${String(i).padStart(5, '0')}`;
    const meta = { tenant: tenantOf(i) };
    store.apply(id, i + 1, entry(aRunTriggered(id, spec, { at, additionalMetadata: meta })));
  });
  return store;
}

/** Every page of `query`, following the cursors. */
function allPages(
  store: RunIndexStore,
  query: { limit: number; additionalMetadata?: Record<string, string> },
) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = store.page({ ...query, ...(cursor && { cursor }) });
    ids.push(...page.runs.map((r) => r.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

describe('run index pages', () => {
  // Many runs (the newest-first walk) and few (the whole candidate set) give the same pages,
  // newest first by createdAt even where the journal holds them out of that order.
  it.each([5_000, 300])('pages %i runs newest first, late arrivals in their place', (n) => {
    const createdAts = Array.from(
      { length: n },
      (_, i) => 1_000 + i * 10 + (i % 7 === 0 ? -25 : 0),
    );
    const store = storeOf(createdAts);
    const expected = [...store.records()]
      .sort((a, b) => b.createdAt - a.createdAt || (b.id > a.id ? 1 : -1))
      .map((r) => r.id);
    expect(allPages(store, { limit: 97 })).toEqual(expected);
  });

  it('a filtered page and a page after a removal read the same way', () => {
    const store = storeOf(
      Array.from({ length: 5_000 }, (_, i) => 1_000 + i),
      (i) => (i % 3 === 0 ? 'a' : 'b'),
    );
    const tenantA = allPages(store, { limit: 50, additionalMetadata: { tenant: 'a' } });
    expect(tenantA).toHaveLength(1_667);
    expect(tenantA[0]).toBe('r04998');
    store.forget('r04998');
    expect(store.page({ limit: 1, additionalMetadata: { tenant: 'a' } }).runs[0].id).toBe('r04995');
  });

  it('counts every run from its sets, with dispatched runs as RUNNING, as a filter would', () => {
    const store = storeOf([1_000, 1_001, 1_002]);
    const live = new Map([['r00001', ['w1']]]);
    const all = store.counts({}, live);
    expect(all).toMatchObject({ QUEUED: 2, RUNNING: 1, COMPLETED: 0, retrying: 0 });
    expect(store.counts({ since: 0 }, live)).toEqual(all);
  });

  // Counts of a name or a metadata pair come from their groups' counters, kept as runs change
  // status, retry, replay and leave; pages of them walk the group newest first. Both must say
  // what walking every record with the filter says.
  it('counts and pages of names and metadata pairs agree with every record walked', () => {
    const names = ['a', 'b', 'c'];
    const store = new RunIndexStore();
    let seq = 0;
    const at = 2_000;
    const ev = {
      started: { type: 'TaskStarted', taskName: 't', key: 'k', attempt: 1, workerId: 'w', at },
      failedOnce: {
        type: 'TaskFailed',
        taskName: 't',
        key: 'k',
        error: { name: 'E', message: 'm' },
        final: false,
        at,
      },
      completed: { type: 'RunCompleted', output: 1, at },
      failed: { type: 'RunFailed', errors: { t: 'E: m' }, errorClass: 'E', at },
      replayed: { type: 'RunReplayed', at },
    } satisfies Record<string, RunEvent>;
    const steps = [[], [ev.started], [ev.started, ev.failedOnce], [ev.completed], [ev.failed]];
    for (let i = 0; i < 7_000; i++) {
      const id = `r${String(i).padStart(5, '0')}`;
      const spec = { name: names[i % 3], kind: 'task' as const, tasks: [aTask('t')] };
      const meta = { tenant: `t${i % 4}`, ...(i % 5 === 0 && { region: 'eu' }) };
      store.apply(
        id,
        ++seq,
        entry(aRunTriggered(id, spec, { at: 1_000 + i, additionalMetadata: meta })),
      );
      for (const step of steps.slice(1, 1 + (i % 5))) store.apply(id, ++seq, entry(...step));
      if (i % 11 === 0) store.apply(id, ++seq, entry(ev.replayed));
    }
    for (let i = 0; i < 7_000; i += 13) store.forget(`r${String(i).padStart(5, '0')}`);
    const live: LiveRuns = new Map(
      [...store.records()]
        .filter((r, i) => r.status === 'QUEUED' && i % 2 === 0)
        .map((r) => [r.id, ['w2']]),
    );
    const filters: RunFilter[] = [
      { name: ['a'] },
      { name: ['a', 'c'] },
      { additionalMetadata: { tenant: 't1' } },
      { additionalMetadata: { region: 'eu' } },
      { name: ['b'], status: ['COMPLETED'] },
      { additionalMetadata: { tenant: 't2' }, status: ['RUNNING', 'FAILED'] },
      { additionalMetadata: { tenant: 't3' }, status: ['QUEUED'] },
    ];
    for (const q of filters) {
      const walked = { QUEUED: 0, RUNNING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, retrying: 0 };
      const newest = [...store.records()]
        .filter((r) => matches(r, q, live))
        .sort((x, y) => y.createdAt - x.createdAt);
      for (const r of newest) {
        walked[statusOf(r, live)]++;
        if (r.status !== 'COMPLETED' && r.status !== 'FAILED' && r.failedAttempts > 0)
          walked.retrying++;
      }
      expect(store.counts(q, live), JSON.stringify(q)).toEqual(walked);
      const page = store.page({ ...q, limit: 40 }, live);
      expect(
        page.runs.map((r) => r.id),
        JSON.stringify(q),
      ).toEqual(newest.slice(0, 40).map((r) => r.id));
      const next = store.page({ ...q, limit: 40, cursor: page.nextCursor ?? undefined }, live);
      expect(next.runs.map((r) => r.id)).toEqual(newest.slice(40, 80).map((r) => r.id));
    }
  });
});
