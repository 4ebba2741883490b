/**
 * Pages of a run's history read from its journal: the events `skein.runs.history` shows, and a
 * durable task's recorded calls a worker replays. Each page stops before its encoded size would
 * pass `budget` (a reply must fit in max_payload), and says where the next one reads on from, so
 * reading a long history page by page reads each journal entry about once.
 */
import type { RunEvent } from '../actors/run/index.js';
import { RecordedCalls } from '../actors/run/recorded-calls.js';
import type { DurableCallRecord } from '../actors/run/state.js';
import { encode } from './codec.js';
import type { StoredEntry } from './journal.js';
import type { HistoryCursor, HistoryEvent } from './protocol-api.js';

/** Bytes an item adds to an encoded array (its own encoding; the array header is slack). */
const sizeOf = (item: unknown) => encode(item).length;

export interface EventsPage {
  events: HistoryEvent[];
  end: boolean;
  next?: HistoryCursor;
  /** Whether any entry was read (a subject with none is no run). */
  found: boolean;
}

/** Events with `seq > after`, at most `limit`, from entries starting at `from` (events before it). */
export async function eventsPage(
  entries: AsyncIterable<StoredEntry>,
  q: { after: number; limit?: number; from?: HistoryCursor; budget: number },
): Promise<EventsPage> {
  const events: HistoryEvent[] = [];
  let seqBefore = q.from?.events ?? 0;
  let bytes = 0;
  let found = false;
  let last = 0;
  for await (const { seq, entry } of entries) {
    last = seq;
    if (entry.ev.length > 0) found = true;
    let n = seqBefore;
    for (const event of entry.ev as { type: string; at?: number }[]) {
      n++;
      if (n <= q.after) continue;
      const { type, at, ...data } = event;
      const shown: HistoryEvent = { seq: n, type, at: at ?? entry.at, data };
      const size = sizeOf(shown);
      const full = events.length === q.limit || (events.length > 0 && bytes + size > q.budget);
      // Stopped inside (or before) this entry: the next page reads it again and skips what it had.
      if (full) return { events, end: false, next: { seq, events: seqBefore }, found };
      events.push(shown);
      bytes += size;
    }
    seqBefore = n;
  }
  // Past the end: a later read for events appended since starts there.
  const next = last ? { seq: last + 1, events: seqBefore } : q.from;
  return { events, end: true, next, found };
}

export interface CallsPage {
  calls: DurableCallRecord[];
  /** Every call from `after` on up to the end of the journal is in `calls`. */
  complete: boolean;
  /** The journal sequence to read on from. */
  next?: number;
}

/**
 * A durable task's calls from position `after` on, in `generation`, from entries starting at
 * `from` (known to be in that generation) or at the run's first.
 */
export async function callsPage(
  entries: AsyncIterable<StoredEntry>,
  q: {
    taskName: string;
    generation: number;
    after: number;
    fromGeneration: number;
    budget: number;
  },
): Promise<CallsPage> {
  const recorded = new RecordedCalls(q.taskName, q.generation, q.after, q.fromGeneration);
  let bytes = 0;
  let last = 0;
  for await (const { seq, entry } of entries) {
    for (const event of entry.ev as RunEvent[]) {
      const count = recorded.calls.length;
      if (!recorded.add(event)) continue;
      bytes += sizeOf(recorded.calls[recorded.calls.length - 1]);
      if (count > 0 && bytes > q.budget) {
        recorded.calls.length = count;
        return { calls: recorded.calls, complete: false, next: seq };
      }
    }
    last = seq;
    if (recorded.passed) break;
  }
  return { calls: recorded.calls, complete: true, next: last ? last + 1 : undefined };
}

/** The highest position of `taskName`'s calls an entry records, or undefined when it records none. */
function lastPositionIn(entry: StoredEntry['entry'], taskName: string): number | undefined {
  let last: number | undefined;
  for (const e of entry.ev as RunEvent[])
    if (e.type === 'DurableCallRecorded' && e.taskName === taskName) last = e.position;
  return last;
}

/**
 * Where in the journal, between `lo` and `hi` (sequences in one generation, where positions
 * only grow), to start reading for the calls from position `after` on: a binary search by
 * direct gets, so a worker that knows 10,000 calls does not make the engine read them all.
 * `entryFrom(seq)` gives the run's first entry at or after `seq`.
 */
export async function seekCalls(
  entryFrom: (seq: number) => Promise<StoredEntry | undefined>,
  taskName: string,
  after: number,
  lo: number,
  hi: number,
): Promise<number> {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    let entry = await entryFrom(mid);
    let position = entry && lastPositionIn(entry.entry, taskName);
    while (entry && entry.seq <= hi && position === undefined) {
      entry = await entryFrom(entry.seq + 1);
      position = entry && lastPositionIn(entry.entry, taskName);
    }
    // Calls before `after` end at or before this entry: start after it.
    if (entry && entry.seq <= hi && position !== undefined && position < after) lo = entry.seq + 1;
    else hi = mid;
  }
  return lo;
}
