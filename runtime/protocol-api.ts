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

export const apiRequests = {
  'runs.get': runIdRequest,
  'runs.list': z
    .object({
      name: idSchema('name').optional(),
      status: z.enum(['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED']).optional(),
      since: z.number().optional(),
      until: z.number().optional(),
      additionalMetadata: z.record(z.string(), z.string()).optional(),
      limit: z.number().int().min(1).max(1000).optional(),
    })
    .nullish()
    .transform((q) => q ?? {}),
  'runs.history': runIdRequest,
  'runs.logs': runIdRequest,
  'runs.ended': z.object({ runIds: z.array(runId).max(1000) }),
  /** Takes nothing; whatever is sent is ignored. */
  'workers.list': z.unknown(),
  'durable.history': z.object({ runId, taskName: idSchema('taskName'), key: z.string().min(1) }),
};

export interface TaskView {
  name: string;
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
  /** Task runs it holds now (not in the SDK's WorkerInfo type, though its objects carry it). */
  runningCount: number;
  conflicts: string[];
}

export interface ApiResponses {
  'runs.get': RunView;
  'runs.list': RunView[];
  'runs.history': HistoryEvent[];
  'runs.logs': LogLine[];
  'runs.ended': RunFinished[];
  'workers.list': WorkerView[];
  /** A durable task's recorded calls, and whether attempt `key` is still the run's live one. */
  'durable.history': { calls: DurableCallRecord[]; live: boolean };
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
