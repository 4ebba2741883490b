/**
 * The engine's query API: for each op, the request (a schema the engine parses it with) and
 * the answer. runtime/api.ts answers every op in this map and the SDK calls them through it,
 * so neither side names its own types for an op.
 */
import { z } from 'zod';
import type { RunFinished } from '../actors/effects.js';
import type { DurableCallRecord } from '../actors/run/state.js';
import { idSchema } from './bounds.js';
import type { RunState } from '../actors/run/state.js';

const runId = idSchema('runId');
const runIdRequest = z.object({ runId });
/** Where a page of a run's history ended: the journal entry to read on from, and events before it. */
const historyCursor = z.object({
  seq: z.number().int().min(1),
  events: z.number().int().min(0),
});
export type HistoryCursor = z.infer<typeof historyCursor>;

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
const runStatus = z.enum(RUN_STATUSES);
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v]));

/** The filters of runs.list, runs.page and runs.counts; they combine with AND. Unknown fields are refused. */
const runFilterFields = {
  status: oneOrMany(runStatus).optional(),
  name: oneOrMany(idSchema('name')).optional(),
  since: z.number().optional(),
  until: z.number().optional(),
  additionalMetadata: z.record(z.string(), z.string()).optional(),
  parentRunId: idSchema('parentRunId').optional(),
  workerId: idSchema('workerId').optional(),
  errorContains: z.string().min(1).max(1000).optional(),
  retrying: z.literal(true).optional(),
};
const limit = z.number().int().min(1).max(1000).optional();
const orEmpty = <T extends z.ZodType>(schema: T) =>
  z
    .union([schema, z.null(), z.undefined()])
    .transform((q) => (q ?? {}) as Exclude<z.output<T>, null | undefined>);

export const runFilterSchema = z.strictObject(runFilterFields);
export const runPageSchema = z.strictObject({
  ...runFilterFields,
  limit,
  cursor: z.string().min(1).max(600).optional(),
});
export const runListSchema = z.strictObject({ ...runFilterFields, limit });
export type RunFilter = z.output<typeof runFilterSchema>;
export type RunPageQuery = z.output<typeof runPageSchema>;

/** Ops answered by the leader's run index (on `names.leaderApi(op)`), not by any engine. */
export const LEADER_API_OPS = ['runs.list', 'runs.page', 'runs.counts'] as const;
export type LeaderApiOp = (typeof LEADER_API_OPS)[number];
/** Ops answered by the leader's scheduler (what it keeps in memory: rate-limit windows). */
export const SCHEDULER_API_OPS = ['rateLimits.list'] as const;
export type SchedulerApiOp = (typeof SCHEDULER_API_OPS)[number];
/** Ops any engine takes from a client and passes on to the leader. */
export const FORWARDED_API_OPS = [...LEADER_API_OPS, ...SCHEDULER_API_OPS] as const;
export type ForwardedApiOp = (typeof FORWARDED_API_OPS)[number];

/** events.list: newest first, at most `limit` (default 50). */
export const eventListSchema = z.strictObject({
  key: idSchema('key').optional(),
  since: z.number().optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});

export const apiRequests = {
  'runs.get': runIdRequest,
  /** The run as it was right after its history event `at` (a `seq` of runs.history). */
  'runs.getAt': z.object({ runId, at: z.number().int().min(1) }),
  'runs.list': orEmpty(runListSchema),
  'runs.page': orEmpty(runPageSchema),
  'runs.counts': orEmpty(runFilterSchema),
  'runs.history': runIdRequest,
  /** Events with `seq > after`, at most `limit`; `from` is a `next` from an earlier page. */
  'runs.historyPage': z.object({
    runId,
    after: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).optional(),
    from: historyCursor.optional(),
  }),
  'runs.logs': runIdRequest,
  'runs.ended': z.object({ runIds: z.array(runId).max(1000) }),
  /** Takes nothing; whatever is sent is ignored. */
  'workers.list': z.unknown(),
  'events.list': orEmpty(eventListSchema),
  /** Takes nothing; whatever is sent is ignored. */
  'rateLimits.list': z.unknown(),
  /** Takes nothing; whatever is sent is ignored. */
  'concurrency.list': z.unknown(),
  /**
   * The calls from position `after` on (all without it); `from` is a `next` from an earlier
   * answer for this task's generation: the journal is read from there, not from the start.
   */
  'durable.history': z.object({
    runId,
    taskName: idSchema('taskName'),
    key: z.string().min(1),
    after: z.number().int().min(0).optional(),
    from: z.number().int().min(1).optional(),
  }),
};

export interface TaskView {
  name: string;
  /** The workflow tasks it runs after (the DAG's edges); none for a standalone task. */
  parents: string[];
  status: string;
  attempts: number;
  workerId: string | null;
  output: unknown;
  /** `'<Class>: <message>'` of its last failure. */
  error: string | null;
  errorClass: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Why a queued task waits, when the engine knows: a concurrency slot, a rate limit, a worker with some labels, a free slot… */
  waitingFor?: string;
}

export interface RunView {
  id: string;
  name: string;
  status: RunState['status'];
  input: unknown;
  output: unknown;
  error: string | null;
  /** The class of the failure that failed the run. */
  errorClass: string | null;
  additionalMetadata: Record<string, string>;
  parentRunId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  tasks: TaskView[];
}

/** What started a run other than a direct trigger. */
export interface RunOrigin {
  type: 'event' | 'cron' | 'schedule';
  /** The event's, cron's or schedule's id. */
  id: string;
  /** The event key or the cron's name; null for a schedule. */
  name: string | null;
}

/** A run as the run index keeps it (`runs.page`): no input, output or task list. */
export interface RunSummaryView {
  id: string;
  name: string;
  kind: 'task' | 'workflow' | 'durable';
  status: RunState['status'];
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** finishedAt - (startedAt, else createdAt), once finished. */
  durationMs: number | null;
  /** Attempts of its task runs so far, summed. */
  attempts: number;
  /** The run's failure (or cancel reason); while it runs, its last failed attempt's. */
  error: string | null;
  errorClass: string | null;
  parentRunId: string | null;
  additionalMetadata: Record<string, string>;
  startedBy: RunOrigin | null;
  /** Workers that started its tasks, in order. */
  workerIds: string[];
  /** Still going with failed attempts behind it (its status stays RUNNING or QUEUED). */
  retrying: boolean;
  /** What it waits on (an event, a sleep, a child run, a concurrency slot, a retry), or null. */
  waitingFor: string | null;
}

export interface HistoryEvent {
  seq: number;
  type: string;
  at: number;
  data: Record<string, unknown>;
}

/** A queued or running task run as the scheduler leader sees it (`sched.lookup`). */
export interface LiveTask {
  key: string;
  taskName: string;
  workerId?: string;
  dispatchedAt?: number;
  /** Why it is still queued (see actors/scheduler/placement.ts). */
  waitingFor?: string;
}

/** A line a task logged, as the worker stores it in the logs stream. */
export interface LogLine {
  at: number;
  level: string;
  taskName: string;
  message: string;
}

/** A worker as `workers.list` shows it. */
export interface WorkerView {
  id: string;
  name: string;
  status: 'ACTIVE' | 'STOPPING' | 'LOST';
  slots: number;
  labels: Record<string, string | number>;
  lastHeartbeatAt: number;
  /** Task runs it holds now. */
  runningCount: number;
  /** The tasks and workflows it serves, by name. */
  serves: string[];
  conflicts: string[];
}

/** A pushed event as `events.list` shows it. */
export interface EventView {
  eventId: string;
  key: string;
  payload: unknown;
  additionalMetadata: Record<string, string>;
  /** When the events stream stored it (the event's time for conditions too). */
  at: number;
  /** The runs it started (one per task or workflow that subscribes to its key). */
  runIds: string[];
}

/** A rate limit upserted with `rateLimits.upsert`, with its sliding window as the scheduler sees it. */
export interface RateLimitView {
  key: string;
  limit: number;
  durationMs: number;
  /** Units granted within the last `durationMs`. */
  used: number;
  /** When the oldest of those leaves the window (units free up); null with none used. */
  windowEndsAt: number | null;
}

/** One concurrency group: a limit's key and who holds or waits for its slots. */
export interface ConcurrencyKeyView {
  /** The workflow or task whose limit it is (`workflow/task` for a task's own). */
  group: string;
  key: string;
  maxRuns: number;
  strategy: string;
  /** Run ids holding a slot, oldest first. */
  holders: string[];
  /** Run ids waiting for one, first in line first. */
  waiters: string[];
}

export interface ApiResponses {
  'runs.get': RunView;
  /** Past the history's end: the run as it is now (what runs.get answers). */
  'runs.getAt': RunView;
  'runs.list': RunView[];
  'runs.page': { runs: RunSummaryView[]; nextCursor: string | null };
  'runs.counts': Record<RunState['status'], number> & { retrying: number };
  /** The whole history in one answer (clients of 0.1; over max_payload it is refused). */
  'runs.history': HistoryEvent[];
  /** `end`: no event follows the page's last; `next`: where the next page reads on from. */
  'runs.historyPage': { events: HistoryEvent[]; end: boolean; next?: HistoryCursor };
  'runs.logs': LogLine[];
  'runs.ended': RunFinished[];
  'workers.list': WorkerView[];
  'events.list': EventView[];
  'rateLimits.list': RateLimitView[];
  'concurrency.list': ConcurrencyKeyView[];
  /**
   * A durable task's recorded calls from `after` on (as many as fit in a reply), how many the
   * task has recorded in all, whether attempt `key` is still the run's live one, and where in
   * the journal to read on from (`from` of the next request).
   */
  'durable.history': {
    calls: DurableCallRecord[];
    live: boolean;
    /** Missing from an engine of 0.1, whose answer holds every call. */
    total?: number;
    next?: number;
  };
}

export type ApiOp = keyof typeof apiRequests & keyof ApiResponses;
/** What a caller sends for `op`. */
export type ApiRequest<Op extends ApiOp> = z.input<(typeof apiRequests)[Op]>;
/** What the engine's handler of `op` receives, parsed. */
export type ApiParsed<Op extends ApiOp> = z.output<(typeof apiRequests)[Op]>;
export type ApiResponse<Op extends ApiOp> = ApiResponses[Op];

/** The reply to an API request: the answer, or an error the SDK turns into its own error class. */
export type ApiReply<Op extends ApiOp> =
  | { ok: ApiResponse<Op>; error?: undefined }
  | { ok?: undefined; error: { name: string; message: string } };

/** Compiles only while every op has both a request schema and an answer type. */
export const everyApiOpHasBothSides: [
  | Exclude<keyof typeof apiRequests, keyof ApiResponses>
  | Exclude<keyof ApiResponses, keyof typeof apiRequests>,
] extends [never]
  ? true
  : never = true;
