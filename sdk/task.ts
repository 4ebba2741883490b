/** `skein.task({...})`: a standalone task, its options checked at declaration. */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { RunSpec, TaskSpec } from '../actors/run/spec.js';
import type { Context, TaskLike } from './context.js';
import type { DurableContext } from './durable-context.js';
import type { EvictionPolicy } from './suspended-tasks.js';
import { eventPatternProblem } from '../actors/events/match.js';
import { checkCron, createCron, type CronRef } from './crons.js';
import { checkDate, createSchedule, type ScheduledRef } from './schedules.js';
import { toMs, type Duration } from './duration.js';
import { retentionMs } from '../runtime/duration.js';
import type { ConcurrencyExpression, DesiredLabel, RateLimitRef, StickyStrategy } from './enums.js';
import { idProblem } from '../runtime/bounds.js';
import { ValidationError } from './errors.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import { placementSpecOf, stickyOf } from './placement.js';
import type { RunRef } from './run-ref.js';
import { currentRun, type ChildLink } from './current-run.js';
import { checkConcurrencyKeys, concurrencyOf } from './concurrency.js';
import {
  checkPriority,
  RUN_OPTIONS,
  type BulkRunItem,
  type RunOpts,
  type TriggerDefaults,
  type Triggerer,
} from './trigger.js';

/** Options of anything that can be run: a standalone task or a workflow. */
export interface RunnableOptions<I> {
  name: string;
  description?: string;
  version?: string;
  inputValidator?: StandardSchemaV1<unknown, I>;
  onEvents?: string[];
  onCrons?: string[];
  sticky?: StickyStrategy;
  defaultPriority?: number;
  concurrency?: number | ConcurrencyExpression | ConcurrencyExpression[];
  defaultAdditionalMetadata?: Record<string, string>;
  /** How long its runs are kept once finished; default: the engine's retention. */
  retention?: Duration;
}

/** How one task runs: timeouts, retries and placement (a workflow's `taskDefaults` too). */
export interface TaskSettings {
  scheduleTimeout?: Duration;
  executionTimeout?: Duration;
  retries?: number;
  backoff?: { factor?: number; maxSeconds?: number };
  rateLimits?: RateLimitRef[];
  desiredWorkerLabels?: Record<string, DesiredLabel>;
  concurrency?: number | ConcurrencyExpression | ConcurrencyExpression[];
}

export interface TaskOptions<I, O> extends RunnableOptions<I>, TaskSettings {
  fn: (input: I, ctx: Context<I>) => O | Promise<O>;
}

export interface DurableTaskOptions<I, O> extends RunnableOptions<I>, TaskSettings {
  evictionPolicy?: EvictionPolicy;
  fn: (input: I, ctx: DurableContext<I>) => O | Promise<O>;
}

/** The option names of each interface above, checked against unknown ones at declaration. */
export const RUNNABLE_OPTIONS = {
  name: true,
  description: true,
  version: true,
  inputValidator: true,
  onEvents: true,
  onCrons: true,
  sticky: true,
  defaultPriority: true,
  concurrency: true,
  defaultAdditionalMetadata: true,
  retention: true,
} as const satisfies Record<keyof RunnableOptions<unknown>, true>;

/** The run spec's `retentionMs`, when the declaration sets `retention`. */
export function retentionOf(retention: unknown, where: string): { retentionMs?: number } {
  return retention === undefined
    ? {}
    : { retentionMs: retentionMs(retention, `${where}: retention`) };
}
export const TASK_SETTINGS = {
  scheduleTimeout: true,
  executionTimeout: true,
  retries: true,
  backoff: true,
  rateLimits: true,
  desiredWorkerLabels: true,
  concurrency: true,
} as const satisfies Record<keyof TaskSettings, true>;
const TASK_OPTIONS = optionNames<TaskOptions<unknown, unknown>>({
  ...RUNNABLE_OPTIONS,
  ...TASK_SETTINGS,
  fn: true,
});
const DURABLE_TASK_OPTIONS = optionNames<DurableTaskOptions<unknown, unknown>>({
  ...RUNNABLE_OPTIONS,
  ...TASK_SETTINGS,
  evictionPolicy: true,
  fn: true,
});
const EVICTION_POLICY = optionNames<EvictionPolicy>({ ttl: true, allowCapacityEviction: true });
const BACKOFF = optionNames<NonNullable<TaskSettings['backoff']>>({
  factor: true,
  maxSeconds: true,
});
const BULK_ITEM = optionNames<BulkRunItem<unknown>>({ input: true, options: true });
const RUN_MANY_OPTIONS = optionNames<RunManyOpts>({ returnExceptions: true });

const DEFAULT_EVICTION_TTL = '15m';

/** A durable task's eviction policy, checked at declaration. */
export function durableOf(policy: EvictionPolicy | undefined, where: string) {
  if (policy !== undefined && (typeof policy !== 'object' || policy === null))
    throw new ValidationError(`${where}: evictionPolicy must be an object`);
  checkOptions(policy, EVICTION_POLICY, `${where}: evictionPolicy`);
  const ttlMs = toMs(policy?.ttl ?? DEFAULT_EVICTION_TTL, `${where}: evictionPolicy.ttl`);
  const allow = policy?.allowCapacityEviction ?? true;
  if (typeof allow !== 'boolean')
    throw new ValidationError(`${where}: evictionPolicy.allowCapacityEviction must be a boolean`);
  return { ttlMs, allowCapacityEviction: allow };
}

/** A task's code and the validator its input goes through. */
export interface TaskFunction {
  fn: (input: unknown, ctx: Context) => unknown;
  inputValidator?: StandardSchemaV1<unknown, unknown>;
  /** A durable task, and how long it may wait in a worker's memory. */
  durable?: { ttlMs: number; allowCapacityEviction: boolean };
}

export interface RunManyOpts {
  /** Return each failed run's error in its place instead of rejecting. */
  returnExceptions?: boolean;
}

const DEFAULT_SCHEDULE_TIMEOUT = '5m';
/** Triggers of one runMany sent per event-loop turn. */
const SEND_SLICE = 100;
const DEFAULT_EXECUTION_TIMEOUT = '60s';

export function checkName(name: unknown, what: string): string {
  if (
    typeof name !== 'string' ||
    name.trim().length === 0 ||
    name.length > 200 ||
    idProblem(what, name) // bytes and characters a subject or KV key can take
  ) {
    throw new ValidationError(
      `${what} name must be a non-empty string of at most 200 characters (255 bytes) without control characters, got ${JSON.stringify(name)?.slice(0, 80)}`,
    );
  }
  return name;
}

export function taskSpecOf(
  name: string,
  o: Partial<TaskOptions<unknown, unknown>>,
  where: string,
): TaskSpec {
  const retries = o.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new ValidationError(
      `${where}: retries must be a whole number >= 0, got ${JSON.stringify(o.retries)}`,
    );
  }
  const b = o.backoff;
  checkOptions(b, BACKOFF, `${where}: backoff`);
  if (b !== undefined) {
    if (b.factor !== undefined && !(b.factor > 0))
      throw new ValidationError(`${where}: backoff.factor must be > 0`);
    if (b.maxSeconds !== undefined && !(b.maxSeconds > 0))
      throw new ValidationError(`${where}: backoff.maxSeconds must be > 0`);
  }
  const executionTimeoutMs = toMs(
    o.executionTimeout ?? DEFAULT_EXECUTION_TIMEOUT,
    `${where}: executionTimeout`,
  );
  const scheduleTimeoutMs = toMs(
    o.scheduleTimeout ?? DEFAULT_SCHEDULE_TIMEOUT,
    `${where}: scheduleTimeout`,
  );
  if (executionTimeoutMs <= 0 || scheduleTimeoutMs <= 0)
    throw new ValidationError(`${where}: timeouts must be longer than 0`);
  return {
    name,
    retries,
    backoff: b ? { ...b } : undefined,
    executionTimeoutMs,
    scheduleTimeoutMs,
    ...placementSpecOf(o, where),
  };
}

export async function validateInput<I>(
  validator: StandardSchemaV1<unknown, I> | undefined,
  input: unknown,
  name: string,
): Promise<I> {
  if (!validator) return input as I;
  const result = await validator['~standard'].validate(input);
  if (result.issues) {
    const detail = result.issues
      .map(
        (i) =>
          `${(i.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).join('.') || 'input'}: ${i.message}`,
      )
      .join('; ');
    throw new ValidationError(`input of '${name}' is invalid: ${detail}`);
  }
  return result.value;
}

/** Options of `createCron`: a run's options and the timezone the expression is read in. */
export interface CronOpts extends RunOpts {
  /** IANA name such as 'Europe/Paris'; default 'UTC'. */
  timezone?: string;
}

const CRON_OPTIONS = optionNames<CronOpts>({ ...RUN_OPTIONS, timezone: true });

/** Bulk items are `{ input, options? }` (as `createBulkRunItem` makes them). */
function checkItems(items: unknown, name: string) {
  if (!Array.isArray(items))
    throw new ValidationError(
      `runMany of '${name}' takes a list of createBulkRunItem(input, opts?)`,
    );
  items.forEach((item, i) => checkOptions(item, BULK_ITEM, `runMany of '${name}': item ${i}`));
}

/** Checks declared `onEvents` patterns and `onCrons` expressions. */
export function checkTriggers(o: { onEvents?: unknown; onCrons?: unknown }, where: string) {
  for (const option of ['onEvents', 'onCrons'] as const) {
    const value = o[option];
    if (
      value !== undefined &&
      (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0))
    ) {
      throw new ValidationError(`${where}: ${option} must be a list of non-empty strings`);
    }
  }
  for (const pattern of (o.onEvents as string[] | undefined) ?? []) {
    const problem = eventPatternProblem(pattern);
    if (problem) throw new ValidationError(`${where}: onEvents: ${problem}`);
  }
  for (const expression of (o.onCrons as string[] | undefined) ?? [])
    checkCron(expression, undefined, `${where}: onCrons`);
  return {
    onEvents: o.onEvents as string[] | undefined,
    onCrons: o.onCrons as string[] | undefined,
  };
}

/** Triggering, shared by tasks and workflows. */
export class Runnable<I, O> implements TaskLike<O> {
  declare readonly __output?: O;

  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(
    readonly name: string,
    readonly spec: RunSpec,
    readonly defaults: TriggerDefaults,
    private readonly validator: StandardSchemaV1<unknown, I> | undefined,
    private readonly triggerer: Triggerer,
  ) {}

  async run(input: I, opts?: RunOpts): Promise<O> {
    const durable = currentRun.getStore()?.durable;
    if (durable)
      return durable.child<O>(
        this.name,
        (link) => this.start(input, opts, link),
        true,
      ) as Promise<O>;
    const ref = await this.start(input, opts);
    return ref.result();
  }

  runNoWait(input: I, opts?: RunOpts): Promise<RunRef<O>> {
    const durable = currentRun.getStore()?.durable;
    if (durable)
      return durable.child<O>(this.name, (link) => this.start(input, opts, link), false) as Promise<
        RunRef<O>
      >;
    return this.start(input, opts);
  }

  createBulkRunItem(input: I, options?: RunOpts): BulkRunItem<I> {
    return { input, options };
  }

  /** Runs every item and waits for all; order kept. Rejects at a failed run unless `returnExceptions`. */
  runMany(items: BulkRunItem<I>[], opts?: RunManyOpts & { returnExceptions?: false }): Promise<O[]>;
  runMany(
    items: BulkRunItem<I>[],
    opts: RunManyOpts & { returnExceptions: true },
  ): Promise<(O | Error)[]>;
  runMany(items: BulkRunItem<I>[], opts?: RunManyOpts): Promise<(O | Error)[]>;
  async runMany(items: BulkRunItem<I>[], opts: RunManyOpts = {}): Promise<(O | Error)[]> {
    checkOptions(opts, RUN_MANY_OPTIONS, `runMany of '${this.name}'`);
    checkItems(items, this.name);
    const durable = currentRun.getStore()?.durable;
    if (durable)
      return durable.runMany<O>(
        this.name,
        this.durableStarts(items),
        opts.returnExceptions === true,
      );
    const refs = await this.runManyNoWait(items);
    if (!opts.returnExceptions) return Promise.all(refs.map((r) => r.result()));
    return Promise.all(
      refs.map((r) =>
        r.result().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
      ),
    );
  }

  /** Every item is checked before any run is stored: one bad item rejects the call and starts nothing. */
  async runManyNoWait(items: BulkRunItem<I>[]): Promise<RunRef<O>[]> {
    checkItems(items, this.name);
    const durable = currentRun.getStore()?.durable;
    if (durable)
      return Promise.all(
        this.durableStarts(items).map(
          (start) => durable.child<O>(this.name, start, false) as Promise<RunRef<O>>,
        ),
      );
    const prepared = await Promise.all(items.map((item) => this.prepare(item.input, item.options)));
    const refs: Promise<RunRef<O>>[] = [];
    for (let i = 0; i < prepared.length; i += SEND_SLICE) {
      // Let other work in this process (a worker, say) run between slices of a big batch.
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const p of prepared.slice(i, i + SEND_SLICE)) refs.push(this.triggerer.send<O>(p));
    }
    return Promise.all(refs);
  }

  /**
   * How each item's run starts as a durable call of the current durable task. The first start
   * checks every item, so one bad item starts nothing; a replay whose calls are all recorded
   * checks and starts nothing.
   */
  private durableStarts(items: BulkRunItem<I>[]) {
    let checked: Promise<unknown> | undefined;
    const checkAll = () =>
      (checked ??= Promise.all(items.map((item) => this.prepare(item.input, item.options))));
    return items.map((item) => async (link: ChildLink) => {
      await checkAll();
      return this.start(item.input, item.options, link);
    });
  }

  /** Runs it once at `date` (at once if that is past); durable when it resolves. */
  async schedule(date: Date, input?: I, opts?: RunOpts): Promise<ScheduledRef> {
    const triggerAt = checkDate(date, `schedule of '${this.name}': date`);
    const store = async (key: string | undefined) => {
      const prepared = await this.prepare((input ?? {}) as I, opts);
      return createSchedule(this.triggerer.conn, prepared.message, triggerAt, key);
    };
    const durable = currentRun.getStore()?.durable;
    if (!durable) return store(opts?.key);
    // A recorded call, so a replay schedules nothing again and returns the recorded schedule.
    const made = await durable.startLater(this.name, async (idKey) => {
      const ref = await store(opts?.key ?? idKey);
      return { id: ref.id, triggerAt: ref.triggerAt.getTime() };
    });
    return { id: made.id, triggerAt: new Date(made.triggerAt) };
  }

  /**
   * Runs it on every tick of a 5-field cron expression (or @yearly, @annually, @monthly,
   * @weekly, @daily, @midnight, @hourly), in `opts.timezone` (default UTC). A cron of the same
   * name for this task is replaced.
   */
  async createCron(name: string, expression: string, input?: I, opts?: CronOpts): Promise<CronRef> {
    const where = `cron '${String(name)}' of '${this.name}'`;
    checkOptions(opts, CRON_OPTIONS, `${where}: options`);
    checkName(name, 'cron');
    checkCron(expression, opts?.timezone, where);
    const { timezone, ...runOpts } = opts ?? {};
    const prepared = await this.prepare((input ?? {}) as I, runOpts);
    return createCron(this.triggerer.conn, name, expression, timezone, prepared.message);
  }

  private async start(input: I, opts: RunOpts | undefined, link?: ChildLink): Promise<RunRef<O>> {
    return this.triggerer.send<O>(await this.prepare(input, opts, link));
  }

  private async prepare(input: I, opts: RunOpts | undefined, link?: ChildLink) {
    const parsed = await validateInput(this.validator, input, this.name);
    const prepared = await this.triggerer.prepare(
      this.spec,
      this.defaults,
      parsed,
      opts,
      false,
      link,
    );
    checkConcurrencyKeys(this.spec, prepared.message);
    return prepared;
  }
}

export class Task<I = unknown, O = unknown> extends Runnable<I, O> {
  readonly kind = 'task' as const;
  readonly triggers: { onEvents?: string[]; onCrons?: string[] };
  private readonly durable?: TaskFunction['durable'];

  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(
    readonly options: TaskOptions<I, O> | DurableTaskOptions<I, O>,
    triggerer: Triggerer,
    durable = false,
  ) {
    const name = checkName(options.name, durable ? 'durable task' : 'task');
    if (typeof options.fn !== 'function')
      throw new ValidationError(`task '${name}': fn must be a function`);
    const where = `task '${name}'`;
    checkOptions(options, durable ? DURABLE_TASK_OPTIONS : TASK_OPTIONS, where);
    const taskSpec = taskSpecOf(name, options as TaskOptions<unknown, unknown>, where);
    const sticky = stickyOf(options.sticky, where);
    const spec: RunSpec = {
      name,
      kind: 'task',
      tasks: [durable ? { ...taskSpec, durable: true } : taskSpec],
      concurrency: concurrencyOf(options.concurrency, where),
      ...(sticky && { sticky }),
      ...retentionOf(options.retention, where),
    };
    const defaults: TriggerDefaults = {
      defaultPriority: checkPriority(
        options.defaultPriority ?? 1,
        `task '${name}': defaultPriority`,
      ),
      defaultAdditionalMetadata: { ...options.defaultAdditionalMetadata },
    };
    super(name, spec, defaults, options.inputValidator, triggerer);
    this.triggers = checkTriggers(options, where);
    if (durable)
      this.durable = durableOf((options as DurableTaskOptions<I, O>).evictionPolicy, where);
  }

  /** What a worker runs for this declaration, by task name. */
  functions(): Map<string, TaskFunction> {
    return new Map([
      [
        this.name,
        {
          fn: this.options.fn as TaskFunction['fn'],
          inputValidator: this.options.inputValidator,
          durable: this.durable,
        },
      ],
    ]);
  }
}
