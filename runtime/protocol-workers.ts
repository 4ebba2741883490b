/** What workers keep in the engine's buckets: heartbeats, registrations, rate limits. */
import { z } from 'zod';
import { idSchema } from './bounds.js';
import type { RunSpec, TaskSpec } from '../actors/run/spec.js';
import type { Heartbeat } from '../actors/scheduler/messages.js';
import { runSpecSchema } from './protocol-specs.js';

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
  /** Optional: workers before it was added send none. */
  suspended: z.array(z.string()).optional(),
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

/** A rate limit as `skein.rateLimits.upsert` stores it in the rate-limits bucket. */
export const rateLimitSchema = z.object({
  key: z.string().min(1),
  limit: z.number().int().positive(),
  durationMs: z.number().int().positive(),
});
export type RateLimitRecord = z.infer<typeof rateLimitSchema>;
