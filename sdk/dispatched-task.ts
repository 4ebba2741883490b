/**
 * What a worker checks of each task run it is sent before it touches it: anyone who may
 * publish on its dispatch subject can send anything (see runtime/dispatch-signature.ts).
 */
import { z } from 'zod';
import { idSchema } from '../runtime/bounds.js';

const count = z.number().int().min(0);
const record = z.record(z.string(), z.unknown());

/** Only the fields the worker relies on; the rest are passed on as they came. */
const dispatchedTask = z.looseObject({
  key: z.string().min(1).max(2048),
  runId: idSchema('runId'),
  taskName: idSchema('taskName'),
  attempt: count,
  maxAttempts: count,
  executionTimeoutMs: z.number().positive(),
  additionalMetadata: z.record(z.string(), z.string()),
  durable: z.boolean().optional(),
  parentOutputs: record.optional(),
  taskRunErrors: z.record(z.string(), z.string()).optional(),
  resume: z.object({ position: count, result: z.unknown() }).optional(),
  preferredWorkerId: z.string().optional(),
  placementError: z.string().optional(),
});

/** Why `task` is not a task run a worker can run, or undefined. */
export function dispatchedTaskProblem(task: unknown): string | undefined {
  const parsed = dispatchedTask.safeParse(task);
  return parsed.success ? undefined : parsed.error.message;
}

/** A cancel the engine sends a worker. */
export const cancelSchema = z.object({
  key: z.string().min(1),
  reason: z.unknown(),
  runId: z.string().min(1).optional(),
  taskName: z.string().min(1).optional(),
});
