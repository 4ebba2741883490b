/**
 * The wire contract between the SDK and the engine: stream, bucket and subject names, and
 * the schemas of what crosses the boundary. Both sides import this module; nothing else
 * is shared between them.
 */
import { z } from 'zod';
import { idSchema } from './bounds.js';
import type { RunMessage } from '../actors/run/messages.js';
import type { CronMessage } from '../actors/cron/messages.js';
import type { ScheduleMessage } from '../actors/schedule/messages.js';
import { CONCURRENCY_STRATEGIES, type ConcurrencyMessage } from '../actors/concurrency/messages.js';
import { LABEL_COMPARATORS } from '../actors/scheduler/queued-task.js';
import type { RunSpec, TaskSpec } from '../actors/run/spec.js';
import type { Heartbeat } from '../actors/scheduler/messages.js';

export {
  DEFAULT_NAMESPACE,
  DEFAULT_NATS_URL,
  PARTITIONS,
  names,
  partitionOf,
  subjectToken,
  validateNamespace,
  type Names,
} from './subjects.js';

/** An event as `skein.events.push` stores it in the events stream (anyone may publish there: check it). */
export interface StoredEvent {
  eventId: string;
  key: string;
  payload: unknown;
  additionalMetadata: Record<string, string>;
  priority?: number;
  scope?: string;
  /** The pusher's clock, for the record: event conditions go by the stream's own timestamp. */
  at: number;
}

// ---- Schemas of messages that enter the engine from outside ----

const json = z.unknown();
const metadata = z.record(z.string(), z.string());

const readableDataKey = z.string().optional();
const conditionSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('sleep'),
    id: z.string(),
    ms: z.number().min(0),
    untilMs: z.number().optional(),
    readableDataKey,
  }),
  z.object({
    kind: z.literal('parent'),
    id: z.string(),
    parent: z.string(),
    expression: z.string().optional(),
    readableDataKey,
  }),
  z.object({
    kind: z.literal('event'),
    id: z.string(),
    eventKey: idSchema('event key'),
    expression: z.string().optional(),
    sinceMs: z.number().optional(),
    readableDataKey,
    scope: z.string().optional(),
  }),
]);
const conditionExprSchema = z.array(z.array(conditionSchema));

const strategySchema = z.enum(CONCURRENCY_STRATEGIES);
const concurrencySpecSchema = z.object({
  expression: z.string().min(1),
  maxRuns: z.number().int().min(1),
  strategy: strategySchema,
});
const labelWishSchema = z.object({
  value: z.union([z.string(), z.number()]),
  required: z.boolean().optional(),
  weight: z.number().min(0).optional(),
  comparator: z.enum(LABEL_COMPARATORS).optional(),
});
const desiredLabelsSchema = z.record(z.string(), labelWishSchema);
const units = z.number().int().positive();
const rateLimitSpecSchema = z.union([
  z.object({ staticKey: z.string().min(1), units }),
  z.object({
    dynamicKey: z.string().min(1),
    units,
    limit: z.number().int().positive(),
    durationMs: z.number().int().positive(),
  }),
]);
const stickySchema = z.enum(['soft', 'hard']);

/** A rate limit as `skein.rateLimits.upsert` stores it in the rate-limits bucket. */
export const rateLimitSchema = z.object({
  key: z.string().min(1),
  limit: z.number().int().positive(),
  durationMs: z.number().int().positive(),
});
export type RateLimitRecord = z.infer<typeof rateLimitSchema>;

export const taskSpecSchema = z.object({
  name: z.string().min(1),
  retries: z.number().int().min(0),
  backoff: z
    .object({
      factor: z.number().positive().optional(),
      maxSeconds: z.number().positive().optional(),
    })
    .optional(),
  executionTimeoutMs: z.number().positive(),
  scheduleTimeoutMs: z.number().positive(),
  parents: z.array(z.string()).optional(),
  role: z.enum(['onFailure', 'onSuccess']).optional(),
  waitFor: conditionExprSchema.optional(),
  skipIf: conditionExprSchema.optional(),
  cancelIf: conditionExprSchema.optional(),
  durable: z.boolean().optional(),
  concurrency: z.array(concurrencySpecSchema).optional(),
  rateLimits: z.array(rateLimitSpecSchema).optional(),
  desiredWorkerLabels: desiredLabelsSchema.optional(),
}) satisfies z.ZodType<TaskSpec>;

export const runSpecSchema = z.object({
  name: z.string().min(1),
  kind: z.enum(['task', 'workflow']),
  tasks: z.array(taskSpecSchema).min(1),
  concurrency: z.array(concurrencySpecSchema).optional(),
  sticky: stickySchema.optional(),
}) satisfies z.ZodType<RunSpec>;

const durableCallBase = {
  id: z.string().min(1),
  key: z.string().min(1),
  taskName: z.string().min(1),
  workerId: z.string().min(1),
  position: z.number().int().min(0),
  kind: z.enum(['sleep', 'waitForEvent', 'waitFor', 'memo', 'now', 'uuid', 'child', 'spawn']),
  callKey: z.string(),
};

const runFinishedSchema = z.object({
  runId: z.string().min(1),
  status: z.enum(['COMPLETED', 'FAILED', 'CANCELLED']),
  output: json.optional(),
  errors: z.record(z.string(), z.string()).optional(),
  reason: z.string().optional(),
});

const taskError = z.object({
  name: z.string(),
  message: z.string(),
  nonRetryable: z.boolean().optional(),
  invalidInput: z.boolean().optional(),
  stack: z.string().optional(),
});

export const runMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('Trigger'),
    id: z.string().min(1),
    runId: idSchema('runId'),
    spec: runSpecSchema,
    input: json,
    additionalMetadata: metadata,
    priority: z.number().int().min(1).max(3),
    parentRunId: z.string().optional(),
    key: z.string().optional(),
    unparsedInput: z.boolean().optional(),
    parentCall: z
      .object({ taskName: z.string().min(1), position: z.number().int().min(0) })
      .optional(),
    notify: z
      .string()
      .regex(/^[A-Za-z0-9_-]+\.notify\.[A-Za-z0-9_-]+$/)
      .max(255)
      .optional(),
    desiredWorkerLabels: desiredLabelsSchema.optional(),
    sticky: stickySchema.optional(),
  }),
  z.object({
    type: z.literal('TaskResult'),
    id: z.string().min(1),
    key: z.string().min(1),
    taskName: z.string().min(1),
    workerId: z.string().min(1),
    startedAt: z.number(),
    finishedAt: z.number(),
    output: json.optional(),
    error: taskError.optional(),
  }),
  z.object({ type: z.literal('Cancel'), id: z.string().min(1), reason: z.string() }),
  z.object({
    type: z.literal('RetryDue'),
    id: z.string().min(1),
    key: z.string(),
    taskName: z.string(),
  }),
  z.object({
    type: z.literal('ScheduleTimedOut'),
    id: z.string().min(1),
    key: z.string(),
    taskName: z.string(),
  }),
  z.object({
    type: z.literal('WorkerLost'),
    id: z.string().min(1),
    key: z.string(),
    taskName: z.string(),
    workerId: z.string(),
  }),
  z.object({
    type: z.literal('TimeoutRefreshed'),
    id: z.string().min(1),
    key: z.string(),
    taskName: z.string(),
    byMs: z.number().positive(),
  }),
  z.object({ type: z.literal('Replay'), id: z.string().min(1) }),
  z.object({
    type: z.literal('ChildStarted'),
    id: z.string().min(1),
    childRunId: idSchema('childRunId'),
  }),
  z.object({
    type: z.literal('EventReceived'),
    id: z.string().min(1),
    taskName: z.string(),
    conditionId: z.string(),
    generation: z.number().int().min(0),
    eventId: z.string(),
    payload: json,
    at: z.number().optional(),
  }),
  z.object({
    type: z.literal('EventsChecked'),
    id: z.string().min(1),
    taskName: z.string(),
    generation: z.number().int().min(0),
    position: z.number().int().min(0).optional(),
    horizon: z.number(),
    found: z.array(
      z.object({ conditionId: z.string(), eventId: z.string(), at: z.number(), payload: json }),
    ),
  }),
  z.object({ type: z.literal('DurableCall'), result: json, ...durableCallBase }),
  z.object({
    type: z.literal('DurableWait'),
    conditions: conditionExprSchema.optional(),
    childRunId: idSchema('childRunId').optional(),
    ...durableCallBase,
  }),
  z.object({
    type: z.literal('ConcurrencyGranted'),
    id: z.string().min(1),
    groupId: z.string().min(1),
    holder: z.string().min(1),
  }),
  z.object({
    type: z.literal('ChildFinished'),
    id: z.string().min(1),
    taskName: z.string().min(1),
    position: z.number().int().min(0),
    result: runFinishedSchema,
  }),
  z.object({
    type: z.literal('SleepElapsed'),
    id: z.string().min(1),
    taskName: z.string(),
    conditionId: z.string(),
    generation: z.number().int().min(0),
  }),
]) satisfies z.ZodType<RunMessage>;

/** Compiles only while every run message type has a schema above. */
type RunMessagesWithoutSchema = Exclude<
  RunMessage['type'],
  z.infer<typeof runMessageSchema>['type']
>;
export const everyRunMessageHasASchema: [RunMessagesWithoutSchema] extends [never] ? true : never =
  true;

export const heartbeatSchema = z.object({
  workerId: idSchema('workerId'),
  name: z.string(),
  slots: z.number().int().min(0),
  durableSlots: z.number().int().min(0).optional(),
  /**
   * Each task or workflow the worker serves: its name, its shape (see `shapeOf`: two running
   * workers that register one name with different shapes are a conflict) and its tasks' names.
   * A task is served by its workflow's name and its own (taskIdentity), never by its name alone.
   */
  serves: z.array(z.object({ name: z.string(), shape: z.string(), tasks: z.array(z.string()) })),
  running: z.array(z.string()),
  pinned: z.array(z.string()).optional(),
  stopping: z.boolean(),
  sentAt: z.number(),
  labels: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
}) satisfies z.ZodType<Heartbeat>;
export type WorkerRecord = z.infer<typeof heartbeatSchema>;

/**
 * What two registrations of one name must agree on: a task or a workflow, durable or not, and a
 * workflow's tasks with their parents and roles, in a line a person can read
 * (`workflow [charge after validate; onFailure; validate]`). Timeouts, retries and the like may
 * differ between versions of one declaration; these may not.
 */
export function shapeOf(spec: RunSpec): string {
  const durable = (t: TaskSpec) => (t.durable ? ' (durable)' : '');
  if (spec.kind === 'task') return `task${durable(spec.tasks[0])}`;
  const tasks = spec.tasks.map((t) => {
    const after = t.parents?.length ? ` after ${[...t.parents].sort().join(', ')}` : '';
    return `${t.role ?? t.name}${durable(t)}${after}`;
  });
  return `workflow [${tasks.sort().join('; ')}]`;
}

/** A worker refusing a dispatched task run. */
export const taskDoneSchema = z.object({ key: z.string(), workerId: z.string() });

/** What a worker registers for each task it serves, so runs can be triggered by name. */
export const registeredTaskSchema = z.object({
  spec: runSpecSchema,
  defaultPriority: z.number().int().min(1).max(3),
  defaultAdditionalMetadata: z.record(z.string(), z.string()).optional(),
  /** Declared triggers, stored now; acted on by the events and crons work. */
  onEvents: z.array(z.string()).optional(),
  onCrons: z.array(z.string()).optional(),
});
export type RegisteredTask = z.infer<typeof registeredTaskSchema>;

// ---- Crons and schedules (actors/cron, actors/schedule) ----

const runDefaults = {
  spec: runSpecSchema,
  input: json,
  additionalMetadata: metadata,
  priority: z.number().int().min(1).max(3).optional(),
  unparsedInput: z.boolean().optional(),
  desiredWorkerLabels: desiredLabelsSchema.optional(),
  sticky: stickySchema.optional(),
};

export const cronMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('DefineCron'),
    id: z.string().min(1),
    cron: z.object({
      ...runDefaults,
      name: z.string().min(1),
      expression: z.string().min(1),
      timezone: z.string().min(1),
      declarative: z.boolean(),
    }),
  }),
  z.object({ type: z.literal('CronDue'), id: z.string().min(1), dueAt: z.number() }),
  z.object({ type: z.literal('DeleteCron'), id: z.string().min(1) }),
]) satisfies z.ZodType<CronMessage>;

export const scheduleMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('CreateSchedule'),
    id: z.string().min(1),
    schedule: z.object({ ...runDefaults, triggerAt: z.number() }),
  }),
  z.object({ type: z.literal('ScheduleDue'), id: z.string().min(1) }),
  z.object({ type: z.literal('DeleteSchedule'), id: z.string().min(1) }),
]) satisfies z.ZodType<ScheduleMessage>;

/** Compile only while every cron and schedule message type has a schema above. */
export const everyCronMessageHasASchema: [
  Exclude<CronMessage['type'], z.infer<typeof cronMessageSchema>['type']>,
] extends [never]
  ? true
  : never = true;
export const everyScheduleMessageHasASchema: [
  Exclude<ScheduleMessage['type'], z.infer<typeof scheduleMessageSchema>['type']>,
] extends [never]
  ? true
  : never = true;

export const concurrencyMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('Acquire'),
    id: z.string().min(1),
    holder: z.string().min(1),
    runId: z.string().min(1),
    maxRuns: z.number().int().min(1),
    strategy: strategySchema,
  }),
  z.object({ type: z.literal('Release'), id: z.string().min(1), holder: z.string().min(1) }),
]) satisfies z.ZodType<ConcurrencyMessage>;
export const everyConcurrencyMessageHasASchema: [
  Exclude<ConcurrencyMessage['type'], z.infer<typeof concurrencyMessageSchema>['type']>,
] extends [never]
  ? true
  : never = true;

/** A message handed straight to the engine that serves the actor's partition. */
export interface DirectMessage {
  type: string;
  id: string;
  message: unknown;
}

/** The engine's answer to a direct message: stored (ok) or refused, with why. */
export type DirectReply = { ok: true } | { ok: false; invalid?: boolean; error: string };

export interface ApiError {
  error: { name: string; message: string };
}
