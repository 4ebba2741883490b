/** Pages of a run's history: cut to a byte budget, and each saying where the next reads on. */
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../actors/run/index.js';
import { callsPage, eventsPage, seekCalls } from './history-pages.js';
import type { StoredEntry } from './journal.js';

const call = (position: number, result: string): RunEvent => ({
  type: 'DurableCallRecorded',
  taskName: 't',
  position,
  kind: 'memo',
  callKey: 'k',
  result,
  at: 1,
});
/** Journal entries at sequences 10, 20, 30, ... each recording one call of 1 KB. */
const journal = (n: number): StoredEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    seq: (i + 1) * 10,
    entry: { m: `m${i}`, at: 1, ev: [call(i, 'x'.repeat(1000))], fx: [] },
  }));
async function* from(entries: StoredEntry[], seq = 1) {
  for (const e of entries) if (e.seq >= seq) yield e;
}

describe('callsPage', () => {
  const q = { taskName: 't', generation: 0, fromGeneration: 0 };

  it('stops at the budget, and the next page from its `next` gets the rest', async () => {
    const entries = journal(10);
    const first = await callsPage(from(entries), { ...q, after: 0, budget: 3500 });
    expect(first.calls).toHaveLength(3);
    expect(first.complete).toBe(false);
    const rest = await callsPage(from(entries, first.next), { ...q, after: 3, budget: 1e6 });
    expect(rest.calls.map((c) => c.result)).toHaveLength(7);
    expect(rest).toMatchObject({ complete: true, next: 101 });
  });

  it('always takes one call, however big', async () => {
    const page = await callsPage(from(journal(2)), { ...q, after: 0, budget: 10 });
    expect(page.calls).toHaveLength(1);
  });
});

describe('eventsPage', () => {
  it('gives events after `after`, at most `limit`, and a cursor to read on from', async () => {
    const entries = journal(10);
    const page = await eventsPage(from(entries), { after: 2, limit: 3, budget: 1e6 });
    expect(page.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(page).toMatchObject({ end: false, next: { seq: 60, events: 5 } });
    const rest = await eventsPage(from(entries, page.next!.seq), {
      after: 5,
      from: page.next,
      budget: 1e6,
    });
    expect(rest.events.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
    expect(rest).toMatchObject({ end: true, next: { seq: 101, events: 10 } });
  });

  it('stops before the budget', async () => {
    const page = await eventsPage(from(journal(10)), { after: 0, budget: 2500 });
    expect(page.events).toHaveLength(2);
    expect(page.end).toBe(false);
  });
});

describe('seekCalls', () => {
  it('finds where the calls from a position start, reading a few entries, not all', async () => {
    // Calls at sequences 10..1000, with an entry recording no call after each.
    const entries = journal(100).flatMap((e) => [
      e,
      { seq: e.seq + 5, entry: { m: 'x', at: 1, ev: [], fx: [] } },
    ]);
    let reads = 0;
    const entryFrom = async (seq: number) => {
      reads++;
      return entries.find((e) => e.seq >= seq);
    };
    const start = await seekCalls(entryFrom, 't', 73, 1, 1005);
    const page = await callsPage(from(entries, start), {
      taskName: 't',
      generation: 0,
      fromGeneration: 0,
      after: 73,
      budget: 1e6,
    });
    expect(page.calls).toHaveLength(27);
    expect(start).toBeLessThanOrEqual(740);
    expect(start).toBeGreaterThan(730);
    expect(reads).toBeLessThan(30);
  });
});
