/**
 * The messages that enter the engine from outside: actor messages (each schema checked against
 * the actor's own type, and every type given a schema), events, and direct hand-overs.
 */
import { z } from 'zod';
import { idSchema } from './bounds.js';
import type { RunMessage } from '../actors/run/messages.js';
import type { CronMessage } from '../actors/cron/messages.js';
import type { ScheduleMessage } from '../actors/schedule/messages.js';
import type { ConcurrencyMessage } from '../actors/concurrency/messages.js';
import {
  conditionExprSchema,
  desiredLabelsSchema,
  json,
  metadata,
  runSpecSchema,
  stickySchema,
  strategySchema,
} from './protocol-specs.js';
import { traceContextSchema, type TraceContext } from './protocol-trace.js';

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
  /** The span it was pushed in: runs it starts link to it. */
  trace?: TraceContext;
}

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
    trace: traceContextSchema.optional(),
    traceLink: traceContextSchema.optional(),
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
  z.object({
    type: z.literal('Cancel'),
    id: z.string().min(1),
    reason: z.string(),
    by: idSchema('by').optional(),
  }),
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
    cause: z.enum(['lost', 'unacknowledged']).optional(),
  }),
  z.object({
    type: z.literal('TimeoutRefreshed'),
    id: z.string().min(1),
    key: z.string(),
    taskName: z.string(),
    byMs: z.number().positive(),
  }),
  z.object({
    type: z.literal('Replay'),
    id: z.string().min(1),
    by: idSchema('by').optional(),
    fromTask: idSchema('fromTask').optional(),
  }),
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
