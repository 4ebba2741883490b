/**
 * The run index in memory: every known run's record, with sets by status, name, metadata pair,
 * parent, worker and "retrying", so that a filtered page walks only the smallest set that can
 * hold its answer. Pure: entries come in through `apply`, in journal order.
 */
import type { RunStatus } from '../../actors/run/state.js';
import { ValidationError } from '../errors.js';
import type { JournalEntry } from '../journal-entries.js';
import { RUN_STATUSES, type RunFilter, type RunPageQuery } from '../protocol-api.js';
import { comesAfter, CreationOrder, type CreationCursor } from './creation-order.js';
import { foldEntry, isFinished, isRetrying, type IndexedRun } from './fold.js';

export const DEFAULT_PAGE_LIMIT = 100;
const MAX_INTERNED = 100_000;

type Counts = Record<RunStatus, number> & { retrying: number };

/**
 * Runs whose tasks the scheduler has dispatched, with the workers: the journal records a start
 * only with the task's result, so a dispatched run still reads QUEUED there, while runs.get
 * (which asks the scheduler too) shows it RUNNING. The index shows what runs.get shows.
 */
export type LiveRuns = ReadonlyMap<string, readonly string[]>;
const NO_LIVE: LiveRuns = new Map();

/** The status runs.get shows. */
export const statusOf = (run: IndexedRun, live: LiveRuns): RunStatus =>
  run.status === 'QUEUED' && live.has(run.id) ? 'RUNNING' : run.status;

/** The workers that started or hold its tasks. */
export function workersOf(run: IndexedRun, live: LiveRuns): string[] {
  const now = live.get(run.id);
  if (!now) return run.workerIds;
  return [...run.workerIds, ...now.filter((w) => !run.workerIds.includes(w))];
}

class SetIndex<K> {
  readonly sets = new Map<K, Set<IndexedRun>>();
  add(key: K, run: IndexedRun) {
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = new Set()));
    set.add(run);
  }
  delete(key: K, run: IndexedRun) {
    const set = this.sets.get(key);
    if (!set) return;
    set.delete(run);
    if (set.size === 0) this.sets.delete(key);
  }
  get(key: K): ReadonlySet<IndexedRun> {
    return this.sets.get(key) ?? EMPTY;
  }
}
const EMPTY: ReadonlySet<IndexedRun> = new Set();

const noCounts = (): Counts =>
  Object.fromEntries([...RUN_STATUSES, 'retrying'].map((k) => [k, 0])) as Counts;

/**
 * The runs with one name, or one metadata pair (which never change for a run): in creation
 * order too, so a filtered page reads from its newest, and counted by status, so its counts
 * need no walk.
 */
class RunGroup {
  readonly runs = new Set<IndexedRun>();
  readonly order = new CreationOrder();
  readonly counts = noCounts();
}
const NO_GROUP = new RunGroup();

class GroupIndex {
  private readonly groups = new Map<string, RunGroup>();
  add(key: string, run: IndexedRun) {
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = new RunGroup()));
    group.runs.add(run);
    group.order.add(run);
    group.counts[run.status]++;
    if (isRetrying(run)) group.counts.retrying++;
  }
  /** `status`, `retrying`: what the run was counted as. */
  delete(key: string, run: IndexedRun, status: RunStatus, retrying: boolean) {
    const group = this.groups.get(key);
    if (!group?.runs.delete(run)) return;
    if (group.runs.size === 0) return void this.groups.delete(key);
    group.order.remove(run);
    group.counts[status]--;
    if (retrying) group.counts.retrying--;
  }
  get(key: string): RunGroup {
    return this.groups.get(key) ?? NO_GROUP;
  }
}

const metaKey = (k: string, v: string) => `${k}\u0000${v}`;

/** Whether `a` is newer than `b`. */
const newer = (a: IndexedRun, b: IndexedRun) => comesAfter(a.createdAt, a.id, b.createdAt, b.id);

type Cursor = CreationCursor;

/**
 * A page whose candidates number more than this reads the runs newest first and stops when
 * full; fewer are looked at whole (cheaper than walking past the runs that do not match).
 */
const WALK_NEWEST_ABOVE = 2048;

export function encodeCursor(run: IndexedRun): string {
  return Buffer.from(JSON.stringify([run.createdAt, run.id])).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof at === 'number' && typeof id === 'string') return { at, id };
  } catch {
    // refused below
  }
  throw new ValidationError(`cursor '${cursor.slice(0, 80)}' is not one runs.page gave`);
}

export class RunIndexStore {
  private readonly runs = new Map<string, IndexedRun>();
  private readonly byStatus = new SetIndex<RunStatus>();
  private readonly byName = new GroupIndex();
  private readonly byMeta = new GroupIndex();
  private readonly byParent = new SetIndex<string>();
  private readonly byWorker = new SetIndex<string>();
  private readonly retrying = new Set<IndexedRun>();
  private readonly order = new CreationOrder();
  /** The stream sequence of the last journal entry applied. */
  appliedSeq = 0;

  get size() {
    return this.runs.size;
  }

  get(runId: string): IndexedRun | undefined {
    return this.runs.get(runId);
  }

  records(): IterableIterator<IndexedRun> {
    return this.runs.values();
  }

  /** Folds the run journal entry stored at `seq` (entries come in stream order). */
  apply(runId: string, seq: number, entry: JournalEntry) {
    if (seq <= this.appliedSeq) return;
    this.appliedSeq = seq;
    const prev = this.runs.get(runId);
    // Already in its record: a checkpoint written in slices holds some records past its `seq`.
    if (prev && (prev.journalSeqs[prev.journalSeqs.length - 1] ?? 0) >= seq) return;
    if (!prev) {
      const run = foldEntry(undefined, runId, seq, entry);
      if (run) this.add(run);
      return;
    }
    const status = prev.status;
    const retrying = isRetrying(prev);
    // Workers are only ever added, except by a replay, which starts a new list.
    const workers = prev.workerIds;
    const known = workers.length;
    const next = foldEntry(prev, runId, seq, entry);
    if (next !== prev) {
      // A second RunTriggered for one id (only garbage can do this): the newer record stands.
      this.remove(prev, status, retrying, workers);
      if (next) this.add(next);
      return;
    }
    if (prev.status !== status) {
      this.byStatus.delete(status, prev);
      this.byStatus.add(prev.status, prev);
    }
    const nowRetrying = isRetrying(prev);
    if (nowRetrying !== retrying) {
      if (retrying) this.retrying.delete(prev);
      else this.retrying.add(prev);
    }
    if (prev.status !== status || nowRetrying !== retrying) {
      for (const group of this.groupsOf(prev)) {
        group.counts[status]--;
        group.counts[prev.status]++;
        group.counts.retrying += Number(nowRetrying) - Number(retrying);
      }
    }
    if (prev.workerIds !== workers) {
      for (const w of workers) this.byWorker.delete(w, prev);
      for (const w of prev.workerIds) this.byWorker.add(w, prev);
    } else {
      for (let i = known; i < workers.length; i++) {
        workers[i] = this.intern(workers[i]);
        this.byWorker.add(workers[i], prev);
      }
    }
    // Arrays grown by push keep room for 17 items; a finished run rarely grows again.
    if (prev.status !== status && isFinished(prev.status)) {
      prev.journalSeqs = prev.journalSeqs.slice();
      prev.workerIds = prev.workerIds.slice();
    }
  }

  /** Records read back from a checkpoint taken at `seq`. */
  load(records: IndexedRun[], seq: number) {
    for (const run of records) this.add(run);
    this.appliedSeq = Math.max(this.appliedSeq, seq);
  }

  forget(runId: string) {
    const run = this.runs.get(runId);
    if (run) this.remove(run, run.status, isRetrying(run), run.workerIds);
  }

  /**
   * Finished runs whose retention has passed (their own `retentionMs`, else the default), with
   * their journal entries' sequences; a child run is kept while its parent run exists.
   */
  expired(
    now: number,
    defaultRetentionMs: number,
    limit: number,
  ): { runId: string; journalSeqs: number[] }[] {
    const out: { runId: string; journalSeqs: number[] }[] = [];
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) {
      for (const run of this.byStatus.get(status)) {
        if (out.length >= limit) return out;
        const until = (run.finishedAt ?? run.createdAt) + (run.retentionMs ?? defaultRetentionMs);
        if (until > now) continue;
        if (run.parentRunId !== undefined && this.runs.has(run.parentRunId)) continue;
        out.push({ runId: run.id, journalSeqs: run.journalSeqs.slice() });
      }
    }
    return out;
  }

  /** The newest runs that match, `limit` of them, after `cursor` when given. */
  page(
    q: RunPageQuery,
    live: LiveRuns = NO_LIVE,
  ): { runs: IndexedRun[]; nextCursor: string | null } {
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    // One more than asked for tells whether there is a next page.
    const heap = new OldestOnTop(limit + 1);
    const { sets, overlap, size, groups } = this.candidates(q, live);
    if (size > WALK_NEWEST_ABOVE) {
      const runs: IndexedRun[] = [];
      const newest = groups ? newestOf(groups, after) : this.order.newestFirst(after);
      for (const run of newest) {
        if (q.since !== undefined && run.createdAt < q.since) break;
        if (matches(run, q, live) && runs.push(run) > limit) break;
      }
      const more = runs.length > limit;
      if (more) runs.length = limit;
      return { runs, nextCursor: more ? encodeCursor(runs[runs.length - 1]) : null };
    }
    const seen = overlap ? new Set<IndexedRun>() : undefined;
    for (const set of sets) {
      for (const run of set) {
        if (after && !comesAfter(after.at, after.id, run.createdAt, run.id)) continue;
        if (seen?.has(run)) continue;
        seen?.add(run);
        if (heap.wouldKeep(run) && matches(run, q, live)) heap.push(run);
      }
    }
    const runs = heap.newestFirst();
    const more = runs.length > limit;
    if (more) runs.length = limit;
    return { runs, nextCursor: more ? encodeCursor(runs[runs.length - 1]) : null };
  }

  counts(q: RunFilter, live: LiveRuns = NO_LIVE): Counts {
    const counts = noCounts();
    if (Object.values(q).every((v) => v === undefined)) {
      // Every run: the sets' sizes, with the dispatched ones moved from QUEUED to RUNNING.
      for (const status of RUN_STATUSES) counts[status] = this.byStatus.get(status).size;
      for (const runId of live.keys()) {
        if (this.runs.get(runId)?.status !== 'QUEUED') continue;
        counts.QUEUED--;
        counts.RUNNING++;
      }
      counts.retrying = this.retrying.size;
      return counts;
    }
    const counted = this.countedByGroups(q, live);
    if (counted) return counted;
    const { sets, overlap } = this.candidates(q, live);
    const seen = overlap ? new Set<IndexedRun>() : undefined;
    for (const set of sets) {
      for (const run of set) {
        if (seen?.has(run)) continue;
        seen?.add(run);
        if (!matches(run, q, live)) continue;
        counts[statusOf(run, live)]++;
        if (isRetrying(run)) counts.retrying++;
      }
    }
    return counts;
  }

  /**
   * The counts of a filter by names or by one metadata pair (and statuses, if any), from their
   * groups' counts rather than a walk; undefined for any other filter.
   */
  private countedByGroups(q: RunFilter, live: LiveRuns): Counts | undefined {
    const { status, name, additionalMetadata, ...rest } = q;
    if (Object.values(rest).some((v) => v !== undefined)) return undefined;
    const pairs = Object.entries(additionalMetadata ?? {});
    if ((name !== undefined) === pairs.length > 0 || pairs.length > 1) return undefined;
    const groups = name
      ? [...new Set(name)].map((n) => this.byName.get(n))
      : [this.byMeta.get(metaKey(pairs[0][0], pairs[0][1]))];
    const counts = noCounts();
    for (const group of groups)
      for (const k of Object.keys(counts) as (keyof Counts)[]) counts[k] += group.counts[k];
    // Dispatched runs show as RUNNING though their records still say QUEUED.
    for (const runId of live.keys()) {
      const run = this.runs.get(runId);
      if (run?.status !== 'QUEUED' || !groups.some((g) => g.runs.has(run))) continue;
      counts.QUEUED--;
      counts.RUNNING++;
    }
    if (!status) return counts;
    for (const s of RUN_STATUSES) if (!status.includes(s)) counts[s] = 0;
    // Retrying runs of those statuses: the fewer of the retrying runs and the group's walked.
    counts.retrying = 0;
    const size = groups.reduce((n, g) => n + g.runs.size, 0);
    const walked = this.retrying.size <= size ? [this.retrying] : groups.map((g) => g.runs);
    for (const set of walked)
      for (const run of set) if (isRetrying(run) && matches(run, q, live)) counts.retrying++;
    return counts;
  }

  /**
   * The sets whose union holds every match: those of the most selective filter. `overlap`:
   * a run may be in more than one of them. `groups`: the name or metadata groups these sets
   * are, when one of those filters is walked (each group newest first, see `newestOf`).
   */
  private candidates(
    q: RunFilter,
    live: LiveRuns,
  ): { sets: Iterable<IndexedRun>[]; overlap: boolean; size: number; groups?: RunGroup[] } {
    const options: {
      sets: ReadonlySet<IndexedRun>[];
      overlap: boolean;
      groups?: RunGroup[];
    }[] = [];
    if (q.status) {
      const statuses = new Set(q.status);
      // A dispatched run is RUNNING though its record still says QUEUED.
      if (statuses.has('RUNNING') && live.size > 0) statuses.add('QUEUED');
      options.push({ sets: [...statuses].map((s) => this.byStatus.get(s)), overlap: false });
    }
    if (q.name) {
      const groups = [...new Set(q.name)].map((n) => this.byName.get(n));
      options.push({ sets: groups.map((g) => g.runs), overlap: false, groups });
    }
    for (const [k, v] of Object.entries(q.additionalMetadata ?? {})) {
      const group = this.byMeta.get(metaKey(k, v));
      options.push({ sets: [group.runs], overlap: false, groups: [group] });
    }
    if (q.parentRunId !== undefined)
      options.push({ sets: [this.byParent.get(q.parentRunId)], overlap: false });
    if (q.workerId !== undefined) {
      const holding = new Set<IndexedRun>();
      for (const [runId, workers] of live) {
        const run = workers.includes(q.workerId) ? this.runs.get(runId) : undefined;
        if (run) holding.add(run);
      }
      options.push({ sets: [this.byWorker.get(q.workerId), holding], overlap: true });
    }
    if (q.retrying) options.push({ sets: [this.retrying], overlap: false });
    if (options.length === 0)
      return { sets: [this.runs.values()], overlap: false, size: this.runs.size };
    const size = (o: { sets: ReadonlySet<IndexedRun>[] }) => o.sets.reduce((n, s) => n + s.size, 0);
    const best = options.reduce((b, o) => (size(o) < size(b) ? o : b));
    // A large page walks the smallest group newest first, if any filter is one, else every run.
    const grouped = options.filter((o) => o.groups);
    const walk =
      grouped.length === 0 ? undefined : grouped.reduce((b, o) => (size(o) < size(b) ? o : b));
    return { ...best, size: size(best), groups: walk?.groups };
  }

  /** The groups a run is counted in: its name's and its metadata pairs'. */
  private groupsOf(run: IndexedRun): RunGroup[] {
    const groups = [this.byName.get(run.name)];
    for (const [k, v] of Object.entries(run.additionalMetadata))
      groups.push(this.byMeta.get(metaKey(k, v)));
    return groups;
  }

  /**
   * One copy of each name, metadata pair and worker id, rather than one decoded per run: most
   * runs share them (a cap keeps unique values, such as event ids, from filling it).
   */
  private readonly strings = new Map<string, string>();
  private intern(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < MAX_INTERNED) this.strings.set(s, s);
    return s;
  }

  private compact(run: IndexedRun) {
    run.name = this.intern(run.name);
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(run.additionalMetadata))
      meta[this.intern(k)] = this.intern(v);
    run.additionalMetadata = meta;
    const tasks: IndexedRun['tasks'] = {};
    for (const [k, t] of Object.entries(run.tasks)) tasks[this.intern(k)] = t;
    run.tasks = tasks;
  }

  private add(run: IndexedRun) {
    this.compact(run);
    this.runs.set(run.id, run);
    this.order.add(run);
    this.byStatus.add(run.status, run);
    this.byName.add(run.name, run);
    for (const [k, v] of Object.entries(run.additionalMetadata))
      this.byMeta.add(metaKey(k, v), run);
    if (run.parentRunId !== undefined) this.byParent.add(run.parentRunId, run);
    for (const w of run.workerIds) this.byWorker.add(w, run);
    if (isRetrying(run)) this.retrying.add(run);
  }

  private remove(run: IndexedRun, status: RunStatus, retrying: boolean, workers: string[]) {
    this.runs.delete(run.id);
    this.order.remove(run);
    this.byStatus.delete(status, run);
    this.byName.delete(run.name, run, status, retrying);
    for (const [k, v] of Object.entries(run.additionalMetadata))
      this.byMeta.delete(metaKey(k, v), run, status, retrying);
    if (run.parentRunId !== undefined) this.byParent.delete(run.parentRunId, run);
    for (const w of workers) this.byWorker.delete(w, run);
    if (retrying) this.retrying.delete(run);
  }
}

/** The runs of these groups (no run in two), newest first, before `before` when given. */
function* newestOf(groups: RunGroup[], before?: Cursor): Generator<IndexedRun> {
  if (groups.length === 1) return yield* groups[0].order.newestFirst(before);
  const heads = groups
    .map((g) => g.order.newestFirst(before))
    .map((walk) => ({ walk, run: walk.next().value as IndexedRun | undefined }));
  for (;;) {
    let top: (typeof heads)[number] | undefined;
    for (const h of heads) if (h.run && (!top?.run || newer(h.run, top.run))) top = h;
    if (!top?.run) return;
    yield top.run;
    top.run = top.walk.next().value as IndexedRun | undefined;
  }
}

/** Whether `run` passes every filter of `q`. */
export function matches(run: IndexedRun, q: RunFilter, live: LiveRuns = NO_LIVE): boolean {
  if (q.status && !q.status.includes(statusOf(run, live))) return false;
  if (q.name && !q.name.includes(run.name)) return false;
  if (q.since !== undefined && run.createdAt < q.since) return false;
  if (q.until !== undefined && run.createdAt > q.until) return false;
  if (q.additionalMetadata) {
    for (const [k, v] of Object.entries(q.additionalMetadata))
      if (run.additionalMetadata[k] !== v) return false;
  }
  if (q.parentRunId !== undefined && run.parentRunId !== q.parentRunId) return false;
  if (
    q.workerId !== undefined &&
    !run.workerIds.includes(q.workerId) &&
    !live.get(run.id)?.includes(q.workerId)
  )
    return false;
  if (q.retrying && !isRetrying(run)) return false;
  if (q.errorContains !== undefined) {
    const needle = q.errorContains.toLowerCase();
    if (
      !(run.error ?? '').toLowerCase().includes(needle) &&
      !(run.errorClass ?? '').toLowerCase().includes(needle)
    )
      return false;
  }
  return true;
}

/** Keeps the `capacity` newest runs pushed: a binary heap with the oldest kept on top. */
class OldestOnTop {
  private readonly items: IndexedRun[] = [];
  constructor(private readonly capacity: number) {}

  /** Whether `run` would be kept (checked before the costlier filters). */
  wouldKeep(run: IndexedRun) {
    return this.items.length < this.capacity || newer(run, this.items[0]);
  }

  push(run: IndexedRun) {
    const a = this.items;
    if (a.length < this.capacity) {
      a.push(run);
      let i = a.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!newer(a[p], a[i])) break;
        [a[p], a[i]] = [a[i], a[p]];
        i = p;
      }
      return;
    }
    a[0] = run;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && newer(a[m], a[l])) m = l;
      if (r < a.length && newer(a[m], a[r])) m = r;
      if (m === i) return;
      [a[m], a[i]] = [a[i], a[m]];
      i = m;
    }
  }

  newestFirst(): IndexedRun[] {
    return this.items.slice().sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
  }
}
