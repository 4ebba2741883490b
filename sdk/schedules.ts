/** `skein.schedules` and `task.schedule(date, input)`: runs started once, at a given time. */
import { randomUUID } from 'node:crypto';
import type { ScheduleMessage, ScheduleSummary } from '../actors/schedule/index.js';
import { scheduleRunId } from '../actors/schedule/index.js';
import { encode } from '../runtime/codec.js';
import type { TriggerMessage } from '../runtime/run-creation.js';
import { lastSummary, listSummaries } from './actor-summaries.js';
import type { SdkConnection } from './connection.js';
import { NotFoundError, ValidationError } from './errors.js';
import { checkId, derivedId } from './ids.js';
import { runPlacementOf } from '../actors/run/placement.js';
import { createScheduleId, deleteId } from '../runtime/ids.js';

export interface ScheduledRef {
  id: string;
  triggerAt: Date;
}

export interface ScheduleInfo {
  id: string;
  /** The task or workflow it runs. */
  workflowName: string;
  triggerAt: Date;
  /** TRIGGERED once the run was started. */
  status: 'SCHEDULED' | 'TRIGGERED';
  /** The id the run has (or will have): `skein.runRef(runId)`. */
  runId: string;
  additionalMetadata: Record<string, string>;
  createdAt: Date | null;
}

export function checkDate(date: unknown, what: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(ms))
    throw new ValidationError(`${what} must be a valid Date, got ${JSON.stringify(date)}`);
  return ms;
}

/** Stores a schedule for `trigger`'s run; resolves once it is durable. */
export async function createSchedule(
  conn: SdkConnection,
  trigger: TriggerMessage,
  triggerAt: number,
  key: string | undefined,
): Promise<ScheduledRef> {
  const c = await conn.ready();
  const id = key ? derivedId('schedule', trigger.spec.name, key) : randomUUID();
  const message: ScheduleMessage = {
    type: 'CreateSchedule',
    id: createScheduleId(id),
    schedule: {
      spec: trigger.spec,
      triggerAt,
      input: trigger.input,
      additionalMetadata: trigger.additionalMetadata,
      priority: trigger.priority,
      unparsedInput: trigger.unparsedInput,
      ...runPlacementOf(trigger),
    },
  };
  await c.deliverer.deliver('schedule', id, message, encode(message).length);
  return { id, triggerAt: new Date(triggerAt) };
}

export class SchedulesClient {
  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(private readonly conn: SdkConnection) {}

  /** Schedules not deleted, soonest first, those already triggered included. */
  async list(): Promise<ScheduleInfo[]> {
    const all = await listSummaries<ScheduleSummary>(this.conn, 'schedule');
    return all
      .filter(({ s }) => !s.deleted)
      .map(({ id, s }): ScheduleInfo => ({
        id,
        workflowName: s.target,
        triggerAt: new Date(s.triggerAt),
        status: s.runId ? 'TRIGGERED' : 'SCHEDULED',
        runId: scheduleRunId(id),
        additionalMetadata: s.additionalMetadata,
        createdAt: s.createdAt === undefined ? null : new Date(s.createdAt),
      }))
      .sort((a, b) => a.triggerAt.getTime() - b.triggerAt.getTime());
  }

  /** Deletes a schedule; if it has not triggered yet, its run never starts. */
  async delete(id: string): Promise<void> {
    checkId('schedule id', id);
    const s = await lastSummary<ScheduleSummary>(this.conn, 'schedule', id);
    if (!s || s.deleted) throw new NotFoundError(`no schedule with id '${id}'`);
    const c = await this.conn.ready();
    const message: ScheduleMessage = { type: 'DeleteSchedule', id: deleteId() };
    await c.deliverer.deliver('schedule', id, message, 100);
  }
}
