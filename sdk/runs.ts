/** `skein.runs` and `skein.workers`: reading runs and workers through the engine's API. */
import { isTerminal, type RunEntrySummary } from '../actors/run/index.js';
import { lastEntry } from '../runtime/journal-entries.js';
import type { SdkConnection } from './connection.js';
import type { RunStatus } from './enums.js';
import { ConnectionError, NotFoundError, ValidationError } from './errors.js';
import { checkId } from './ids.js';
import type { Triggerer } from './trigger.js';
import {
  byOf,
  CANCEL_OPTIONS,
  checkBulk,
  forEachRun,
  isBulk,
  matchingRunIds,
  REPLAY_OPTIONS,
  type BulkRunAction,
  type BulkRunActionResult,
  type CancelRunOptions,
  type ReplayRunOptions,
} from './run-actions.js';
import { subscribeToStream } from './run-streams.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import type { LogLine, WorkerView } from '../runtime/protocol-api.js';
import type {
  HistoryCursor,
  HistoryEvent,
  RunOrigin,
  RunSummaryView,
  RunView,
  TaskView,
} from '../runtime/protocol-api.js';

export interface TaskRunInfo {
  name: string;
  /** The workflow tasks it runs after (the DAG's edges); none for a standalone task. */
  parents: string[];
  status: string;
  attempts: number;
  workerId: string | null;
  output: unknown;
  /** `'<Class>: <message>'` of its last failure, e.g. `'TypeError: x is undefined'`. */
  error: string | null;
  /** That failure's class (`'TypeError'`, `'TimeoutError'`, `'ValidationError'`, …). */
  errorClass: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Why a queued task waits, when the engine knows: a concurrency slot, a rate limit, a worker with some labels, a free slot… */
  waitingFor?: string;
}

export interface RunInfo {
  id: string;
  name: string;
  status: RunStatus;
  input: unknown;
  output: unknown;
  /** A failed run: its failed tasks' errors (`'<Class>: <message>'`); a cancelled one: the reason. */
  error: string | null;
  /** A failed run: the class of the failure that failed it first. */
  errorClass: string | null;
  additionalMetadata: Record<string, string>;
  parentRunId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  tasks: TaskRunInfo[];
}

export interface RunEventRecord {
  seq: number;
  type: string;
  at: Date;
  data: Record<string, unknown>;
}

export interface RunLogLine {
  at: Date;
  level: string;
  taskName: string;
  message: string;
}

/** Filters of runs.list, runs.page and runs.counts; they combine with AND. */
export interface RunFilter {
  /** One status or any of several. */
  status?: RunStatus | RunStatus[];
  /** One task or workflow name or any of several. */
  name?: string | string[];
  /** Created at or after. */
  since?: Date;
  /** Created at or before. */
  until?: Date;
  /** Every pair must match. */
  additionalMetadata?: Record<string, string>;
  parentRunId?: string;
  /** Runs a task of which this worker started. */
  workerId?: string;
  /** In the run's error class or message (case-insensitive); while it runs, its last failed attempt's. */
  errorContains?: string;
  /** Runs still going whose tasks have failed attempts (their status stays QUEUED or RUNNING). */
  retrying?: true;
}

export interface ListRunsQuery extends RunFilter {
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface RunPageQuery extends ListRunsQuery {
  /** `nextCursor` of the page before. */
  cursor?: string;
}

export type { RunOrigin };

/**
 * A run as the run index keeps it: what runs.page returns (no input, output or tasks). The
 * fields are the wire's (runtime/protocol-api.ts), with times as dates.
 */
export interface RunSummary extends Omit<
  RunSummaryView,
  'status' | 'createdAt' | 'startedAt' | 'finishedAt'
> {
  status: RunStatus;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface RunPage {
  runs: RunSummary[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** How many runs match, by status, and how many of them are retrying. */
export type RunCounts = Record<RunStatus, number> & { retrying: number };

/** A page of a run's history: the events after `after`, at most `limit`. */
export interface HistoryQuery {
  /** Only events with a greater `seq` (default 0: from the first). */
  after?: number;
  /** At most this many events (default: all the rest). */
  limit?: number;
}

export interface WorkerInfo {
  id: string;
  name: string;
  status: 'ACTIVE' | 'STOPPING' | 'LOST';
  slots: number;
  /** Task runs it holds now (of `slots`). */
  runningCount: number;
  labels: Record<string, string | number>;
  /** The tasks and workflows it serves, by name. */
  serves: string[];
  lastHeartbeatAt: Date;
  /**
   * Names this worker registers that another running worker registers with a different shape
   * (names are unique per namespace), one line each: what the name is here and elsewhere.
   */
  conflicts: string[];
}

const FILTER_FIELDS: Record<keyof RunFilter, true> = {
  name: true,
  status: true,
  since: true,
  until: true,
  additionalMetadata: true,
  parentRunId: true,
  workerId: true,
  errorContains: true,
  retrying: true,
};
const FILTER = optionNames<RunFilter>(FILTER_FIELDS);
const LIST_QUERY = optionNames<ListRunsQuery>({ ...FILTER_FIELDS, limit: true });
const PAGE_QUERY = optionNames<RunPageQuery>({ ...FILTER_FIELDS, limit: true, cursor: true });

function checkLimit(limit: unknown) {
  if (
    limit !== undefined &&
    (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000)
  )
    throw new ValidationError(`limit must be a whole number from 1 to 1000, got ${String(limit)}`);
}

function timeOf(what: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new ValidationError(`${what} must be a Date, got ${String(value)}`);
  return value.getTime();
}

/** The query as the engine takes it (times in ms). */
function wireQuery<Q extends RunFilter>(query: Q) {
  return { ...query, since: timeOf('since', query.since), until: timeOf('until', query.until) };
}

export interface GetRunOptions {
  /** A `seq` of runs.history: the run as it was right after that event. */
  at?: number;
}
const GET_OPTIONS = optionNames<GetRunOptions>({ at: true });
/** The reason an SDK cancel records; who asked is its `by`. */
const CANCEL_REASON = 'cancelled by user';

const HISTORY_QUERY = optionNames<HistoryQuery>({ after: true, limit: true });
/** Where pages ended, so the page after one asked for just now reads on from there. */
const CURSORS_KEPT = 256;

const date = (ms: number | null) => (ms === null || ms === undefined ? null : new Date(ms));

/** Compiles only while each public type shows every field of the engine's answer, and no other. */
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
  ? true
  : never;
const _publicTypesMatchTheWire: [
  SameKeys<RunInfo, RunView>,
  SameKeys<TaskRunInfo, TaskView>,
  SameKeys<RunEventRecord, HistoryEvent>,
  SameKeys<RunLogLine, LogLine>,
  SameKeys<WorkerInfo, WorkerView>,
  SameKeys<RunSummary, RunSummaryView>,
] = [true, true, true, true, true, true];

function toRunSummary(v: RunSummaryView): RunSummary {
  return {
    ...v,
    createdAt: new Date(v.createdAt),
    startedAt: date(v.startedAt),
    finishedAt: date(v.finishedAt),
  };
}

function toRunInfo(v: RunView): RunInfo {
  return {
    ...v,
    createdAt: new Date(v.createdAt),
    startedAt: date(v.startedAt),
    finishedAt: date(v.finishedAt),
    tasks: v.tasks.map((t) => ({
      ...t,
      startedAt: date(t.startedAt),
      finishedAt: date(t.finishedAt),
    })),
  };
}

const checkRunId = (runId: unknown): string => checkId('runId', runId);

/**
 * With no engine answering pages (every engine of 0.1, during a rolling upgrade), the page
 * cut from the whole history; anything else rethrows.
 */
async function wholeHistory(
  conn: SdkConnection,
  runId: string,
  after: number,
  limit: number | undefined,
  err: unknown,
) {
  if (!(err instanceof ConnectionError)) throw err;
  const all = await conn.api('runs.history', { runId }).catch(() => Promise.reject(err));
  const events = all.filter((e) => e.seq > after).slice(0, limit);
  return { events, end: true, next: undefined };
}

function rememberCursor(cursors: Map<string, HistoryCursor>, key: string, cursor: HistoryCursor) {
  cursors.delete(key);
  cursors.set(key, cursor);
  if (cursors.size > CURSORS_KEPT) cursors.delete(cursors.keys().next().value as string);
}

function checkBulkFilter(bulk: BulkRunAction, where: string) {
  const checked = checkBulk(bulk, where);
  checkOptions(checked.filter, FILTER, `${where} filter`);
  return checked;
}

export class RunsClient {
  private readonly cursors = new Map<string, HistoryCursor>();

  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(
    private readonly conn: SdkConnection,
    private readonly triggerer: Triggerer,
  ) {}

  /**
   * The run as it is now; with `at` (a `seq` of runs.history), as it was right after that
   * event (time travel): its history up to there folded by the run actor. Past the history's
   * end, as it is now.
   */
  async get(runId: string, opts: GetRunOptions = {}): Promise<RunInfo> {
    const id = checkRunId(runId);
    checkOptions(opts, GET_OPTIONS, 'runs.get');
    const at = opts?.at;
    if (at === undefined) return toRunInfo(await this.conn.api('runs.get', { runId: id }));
    if (typeof at !== 'number' || !Number.isInteger(at) || at < 1)
      throw new ValidationError(
        `runs.get: at must be a history seq (a whole number >= 1), got ${String(at)}`,
      );
    return toRunInfo(await this.conn.api('runs.getAt', { runId: id, at }));
  }

  /** Runs that match, newest first, as runs.get shows them (default 100, at most 1000). */
  async list(query: ListRunsQuery = {}): Promise<RunInfo[]> {
    checkOptions(query, LIST_QUERY, 'runs.list');
    checkLimit(query.limit);
    const views = await this.conn.api('runs.list', wireQuery(query));
    return views.map(toRunInfo);
  }

  /** A page of the runs that match, newest first, as the run index keeps them. */
  async page(query: RunPageQuery = {}): Promise<RunPage> {
    checkOptions(query, PAGE_QUERY, 'runs.page');
    checkLimit(query.limit);
    const page = await this.conn.api('runs.page', wireQuery(query));
    return { runs: page.runs.map(toRunSummary), nextCursor: page.nextCursor };
  }

  /** How many runs match, by status, plus how many of them are retrying. */
  async counts(query: RunFilter = {}): Promise<RunCounts> {
    checkOptions(query, FILTER, 'runs.counts');
    return this.conn.api('runs.counts', wireQuery(query));
  }

  /**
   * The run's events in order; with `after` / `limit`, one page of them. Read from the engine
   * in pages that each fit in a NATS message, however long the history.
   */
  async history(runId: string, query: HistoryQuery = {}): Promise<RunEventRecord[]> {
    const id = checkRunId(runId);
    checkOptions(query, HISTORY_QUERY, 'runs.history');
    const { limit } = query;
    let after = query.after ?? 0;
    if (!Number.isInteger(after) || after < 0)
      throw new ValidationError(`runs.history: after must be a whole number >= 0, got ${after}`);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw new ValidationError(`runs.history: limit must be a whole number >= 1, got ${limit}`);
    const out: HistoryEvent[] = [];
    let from = this.cursors.get(`${id}/${after}`);
    for (;;) {
      const left = limit === undefined ? undefined : limit - out.length;
      const page = await this.conn
        .api('runs.historyPage', { runId: id, after, limit: left, from })
        .catch((err: unknown) => wholeHistory(this.conn, id, after, left, err));
      out.push(...page.events);
      after = out.at(-1)?.seq ?? after;
      from = page.next;
      if (page.end || out.length === limit) break;
    }
    if (from) rememberCursor(this.cursors, `${id}/${after}`, from);
    return out.map((e) => ({ ...e, at: new Date(e.at) }));
  }

  async logs(runId: string): Promise<RunLogLine[]> {
    const lines = await this.conn.api('runs.logs', {
      runId: checkRunId(runId),
    });
    return lines.map((l) => ({ ...l, at: new Date(l.at) }));
  }

  /**
   * Cancels a run: its queued tasks are dropped and running ones see `ctx.signal` abort. A run
   * that has ended stays as it ended; an unknown id is a NotFoundError. Given `{ filter }`,
   * cancels every run the filter matches that has not ended, and resolves to how many.
   */
  cancel(runId: string, opts?: CancelRunOptions): Promise<void>;
  cancel(bulk: BulkRunAction): Promise<BulkRunActionResult>;
  async cancel(
    target: string | BulkRunAction,
    opts: CancelRunOptions = {},
  ): Promise<void | BulkRunActionResult> {
    if (isBulk(target)) {
      const { filter, by } = checkBulkFilter(target, 'runs.cancel');
      const ids = await matchingRunIds((q) => this.page(q), filter, ['QUEUED', 'RUNNING']);
      await forEachRun(ids, (runId) => this.triggerer.cancel(runId, CANCEL_REASON, by));
      return { count: ids.length };
    }
    const runId = checkRunId(target);
    checkOptions(opts, CANCEL_OPTIONS, 'runs.cancel');
    const by = byOf(opts.by);
    const { jsm } = await this.conn.ready();
    const last = await lastEntry(jsm, this.conn.names, 'run', runId);
    if (!last) throw new NotFoundError(`no run with id '${runId}'`);
    // Garbage stored after the run's last turn hides its status: the run actor decides.
    if (
      last !== 'unreadable' &&
      isTerminal((last.s as RunEntrySummary | undefined)?.status ?? 'QUEUED')
    )
      return;
    await this.triggerer.cancel(runId, CANCEL_REASON, by);
  }

  /** Chunks the run's tasks `ctx.putStream` from now on, until it ends (docs/API.md, "Streaming from a task"). */
  subscribeToStream(runId: string): AsyncIterable<unknown> {
    return subscribeToStream(this.conn, this.triggerer.waiter, runId);
  }

  /**
   * Runs a finished run again under the same id: from the start, or `fromTask` on (that task
   * and those downstream of it run again, as does any task that had not succeeded; the others
   * keep their outputs). Given `{ filter }`, replays every finished run the filter matches from
   * the start, and resolves to how many.
   */
  replay(runId: string, opts?: ReplayRunOptions): Promise<void>;
  replay(bulk: BulkRunAction): Promise<BulkRunActionResult>;
  async replay(
    target: string | BulkRunAction,
    opts: ReplayRunOptions = {},
  ): Promise<void | BulkRunActionResult> {
    if (isBulk(target)) {
      const { filter, by } = checkBulkFilter(target, 'runs.replay');
      const ended = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;
      const ids = await matchingRunIds((q) => this.page(q), filter, ended);
      await forEachRun(ids, (runId) => this.triggerer.replay(runId, by));
      return { count: ids.length };
    }
    const runId = checkRunId(target);
    checkOptions(opts, REPLAY_OPTIONS, 'runs.replay');
    const by = byOf(opts.by);
    const { fromTask } = opts;
    if (fromTask !== undefined) {
      checkId('fromTask', fromTask);
      const names = (await this.get(runId)).tasks.map((t) => t.name);
      if (!names.includes(fromTask))
        throw new ValidationError(
          `runs.replay: run '${runId}' has no task '${fromTask}' (its tasks: ${names.join(', ')})`,
        );
    }
    await this.triggerer.replay(runId, by, fromTask);
  }
}

export class WorkersClient {
  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(private readonly conn: SdkConnection) {}

  async list(): Promise<WorkerInfo[]> {
    const workers = await this.conn.api('workers.list', {});
    return workers.map((w) => ({ ...w, lastHeartbeatAt: new Date(w.lastHeartbeatAt) }));
  }
}
