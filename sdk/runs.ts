/** `skein.runs` and `skein.workers`: reading runs and workers through the engine's API. */
import { isTerminal, type RunSummary } from '../actors/run/index.js';
import { lastEntry } from '../runtime/journal-entries.js';
import type { SdkConnection } from './connection.js';
import type { RunStatus } from './enums.js';
import { NotFoundError, ValidationError } from './errors.js';
import { checkId } from './ids.js';
import type { Triggerer } from './trigger.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import type { LogLine, WorkerView } from '../runtime/protocol-api.js';
import type { HistoryEvent, RunView, TaskView } from '../runtime/protocol-api.js';

export interface TaskRunInfo {
  name: string;
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

export interface ListRunsQuery {
  name?: string;
  status?: RunStatus;
  since?: Date;
  until?: Date;
  additionalMetadata?: Record<string, string>;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface WorkerInfo {
  id: string;
  name: string;
  status: 'ACTIVE' | 'STOPPING' | 'LOST';
  slots: number;
  labels: Record<string, string | number>;
  lastHeartbeatAt: Date;
  /**
   * Names this worker registers that another running worker registers with a different shape
   * (names are unique per namespace), one line each: what the name is here and elsewhere.
   */
  conflicts: string[];
}

const LIST_QUERY = optionNames<ListRunsQuery>({
  name: true,
  status: true,
  since: true,
  until: true,
  additionalMetadata: true,
  limit: true,
});

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
  SameKeys<WorkerInfo, Omit<WorkerView, 'runningCount'>>,
] = [true, true, true, true, true];

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

export class RunsClient {
  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(
    private readonly conn: SdkConnection,
    private readonly triggerer: Triggerer,
  ) {}

  async get(runId: string): Promise<RunInfo> {
    return toRunInfo(await this.conn.api('runs.get', { runId: checkRunId(runId) }));
  }

  async list(query: ListRunsQuery = {}): Promise<RunInfo[]> {
    checkOptions(query, LIST_QUERY, 'runs.list');
    if (
      query.limit !== undefined &&
      (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000)
    ) {
      throw new ValidationError(`limit must be a whole number from 1 to 1000, got ${query.limit}`);
    }
    const views = await this.conn.api('runs.list', {
      ...query,
      since: query.since?.getTime(),
      until: query.until?.getTime(),
    });
    return views.map(toRunInfo);
  }

  async history(runId: string): Promise<RunEventRecord[]> {
    const events = await this.conn.api('runs.history', {
      runId: checkRunId(runId),
    });
    return events.map((e) => ({ ...e, at: new Date(e.at) }));
  }

  async logs(runId: string): Promise<RunLogLine[]> {
    const lines = await this.conn.api('runs.logs', {
      runId: checkRunId(runId),
    });
    return lines.map((l) => ({ ...l, at: new Date(l.at) }));
  }

  /**
   * Cancels a run: its queued tasks are dropped and running ones see `ctx.signal` abort. A run
   * that has ended stays as it ended; an unknown id is a NotFoundError.
   */
  async cancel(runId: string): Promise<void> {
    const { jsm } = await this.conn.ready();
    const last = await lastEntry(jsm, this.conn.names, 'run', checkRunId(runId));
    if (!last) throw new NotFoundError(`no run with id '${runId}'`);
    // Garbage stored after the run's last turn hides its status: the run actor decides.
    if (last !== 'unreadable' && isTerminal((last.s as RunSummary | undefined)?.status ?? 'QUEUED'))
      return;
    await this.triggerer.cancel(runId, 'cancelled by user');
  }

  /** Runs a finished run again from the start, under the same id. */
  async replay(runId: string): Promise<void> {
    await this.triggerer.replay(checkRunId(runId));
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
