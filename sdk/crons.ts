/** `skein.crons`, `task.createCron(...)` and declared `onCrons`: runs started on a cron schedule. */
import type { CronDefinition, CronMessage } from '../actors/cron/index.js';
import { cronProblem, DEFAULT_TIMEZONE } from '../actors/cron/index.js';
import type { CronSummary } from '../actors/cron/index.js';
import { encode } from '../runtime/codec.js';
import type { TriggerMessage } from '../runtime/run-creation.js';
import type { SdkConnection } from './connection.js';
import { NotFoundError, ValidationError } from './errors.js';
import { checkId, derivedId } from './ids.js';
import { lastSummary, listSummaries } from './actor-summaries.js';
import type { Declaration } from './worker.js';
import { runPlacementOf } from '../actors/run/placement.js';
import { defineCronId, deleteId } from '../runtime/ids.js';

export interface CronRef {
  id: string;
  name: string;
  expression: string;
}

export interface CronInfo extends CronRef {
  /** The task or workflow it runs. */
  workflowName: string;
  timezone: string;
  /** Declared with `onCrons` rather than made by `createCron`. */
  declarative: boolean;
  additionalMetadata: Record<string, string>;
  createdAt: Date | null;
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  lastRunId: string | null;
}

/** A cron's id: one per task or workflow and cron name, so defining it again replaces it. */
const cronIdOf = (target: string, name: string, declarative: boolean) =>
  derivedId('cron', declarative ? 'declared' : 'created', target, name);

/** Throws ValidationError naming what is wrong with the expression or timezone. */
export function checkCron(expression: unknown, timezone: unknown, where: string) {
  const problem = cronProblem(expression, timezone as string);
  if (problem) throw new ValidationError(`${where}: ${problem}`);
}

const date = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));

/** Creates the cron, or replaces the one of the same name and target; durable when it resolves. */
async function defineCron(conn: SdkConnection, id: string, cron: CronDefinition): Promise<CronRef> {
  const c = await conn.ready();
  const message: CronMessage = { type: 'DefineCron', id: defineCronId(), cron };
  await c.deliverer.deliver('cron', id, message, encode(message).length);
  return { id, name: cron.name, expression: cron.expression };
}

/** A cron made with `createCron` from a checked trigger. */
export function createCron(
  conn: SdkConnection,
  name: string,
  expression: string,
  timezone: string | undefined,
  trigger: TriggerMessage,
) {
  const target = trigger.spec.name;
  return defineCron(conn, cronIdOf(target, name, false), {
    name,
    spec: trigger.spec,
    expression,
    timezone: timezone ?? DEFAULT_TIMEZONE,
    input: trigger.input,
    additionalMetadata: trigger.additionalMetadata,
    priority: trigger.priority,
    declarative: false,
    unparsedInput: trigger.unparsedInput,
    ...runPlacementOf(trigger),
  });
}

/**
 * The crons a worker's declarations list in `onCrons`: the same ones again change nothing;
 * declared crons of these tasks that they no longer list are deleted (the latest code wins).
 */
export async function declareCrons(conn: SdkConnection, declarations: Declaration[]) {
  const declared = new Map<string, string[]>(
    declarations.map((d) => [d.spec.name, d.triggers.onCrons ?? []]),
  );
  const stale = (await listSummaries<CronSummary>(conn, 'cron')).filter(
    ({ s }) => s.declarative && !s.deleted && declared.get(s.target)?.includes(s.name) === false,
  );
  const c = await conn.ready();
  await Promise.all([
    ...stale.map(({ id }) =>
      c.deliverer.deliver('cron', id, { type: 'DeleteCron', id: deleteId() }, 100),
    ),
    ...declarations.flatMap((d) =>
      (d.triggers.onCrons ?? []).map((expression) =>
        defineCron(conn, cronIdOf(d.spec.name, expression, true), {
          name: expression,
          spec: d.spec,
          expression,
          timezone: DEFAULT_TIMEZONE,
          input: {},
          additionalMetadata: d.defaults.defaultAdditionalMetadata,
          declarative: true,
          unparsedInput: true,
        }),
      ),
    ),
  ]);
}

/** `skein.crons`: listing and deleting crons (a task's `createCron` and `onCrons` make them). */
export class CronsClient {
  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(private readonly conn: SdkConnection) {}

  /** Crons not deleted, by name. */
  async list(): Promise<CronInfo[]> {
    const all = await listSummaries<CronSummary>(this.conn, 'cron');
    return all
      .filter(({ s }) => !s.deleted)
      .map(({ id, s }): CronInfo => ({
        id,
        name: s.name,
        expression: s.expression,
        workflowName: s.target,
        timezone: s.timezone,
        declarative: s.declarative,
        additionalMetadata: s.additionalMetadata,
        createdAt: date(s.createdAt),
        nextRunAt: date(s.nextDueAt),
        lastRunAt: date(s.lastTickAt),
        lastRunId: s.lastRunId ?? null,
      }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.workflowName.localeCompare(b.workflowName));
  }

  /** Deletes a cron: no later tick runs (a declared one comes back when a worker registers it again). */
  async delete(id: string): Promise<void> {
    checkId('cron id', id);
    const s = await lastSummary<CronSummary>(this.conn, 'cron', id);
    if (!s || s.deleted) throw new NotFoundError(`no cron with id '${id}'`);
    const c = await this.conn.ready();
    const message: CronMessage = { type: 'DeleteCron', id: deleteId() };
    await c.deliverer.deliver('cron', id, message, 100);
  }
}
