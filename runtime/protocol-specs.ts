/** The run and task specs as they cross the wire (in triggers and registrations), checked against the actors' types. */
import { z } from 'zod';
import { idSchema } from './bounds.js';
import { MIN_RETENTION_MS } from './duration.js';
import { CONCURRENCY_STRATEGIES } from '../actors/concurrency/messages.js';
import type { RunSpec, TaskSpec } from '../actors/run/spec.js';
import { LABEL_COMPARATORS } from '../actors/scheduler/queued-task.js';

export const json = z.unknown();
export const metadata = z.record(z.string(), z.string());

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
export const conditionExprSchema = z.array(z.array(conditionSchema));

export const strategySchema = z.enum(CONCURRENCY_STRATEGIES);
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
export const desiredLabelsSchema = z.record(z.string(), labelWishSchema);
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
export const stickySchema = z.enum(['soft', 'hard']);

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
  retentionMs: z.number().int().min(MIN_RETENTION_MS).optional(),
}) satisfies z.ZodType<RunSpec>;
