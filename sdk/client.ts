/** `Skein.init(...)`: the SDK's entry point. */
import { pino, type Logger } from 'pino';
import {
  DEFAULT_NAMESPACE,
  names,
  registeredTaskSchema,
  validateNamespace,
  type RegisteredTask,
} from '../runtime/protocol.js';
import { decode } from '../runtime/codec.js';
import { SdkConnection } from './connection.js';
import { CronsClient, declareCrons } from './crons.js';
import { EventsClient } from './events.js';
import { SchedulesClient } from './schedules.js';
import { NotFoundError, ValidationError } from './errors.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import { checkNatsOptions, type NatsOptions } from '../runtime/nats-options.js';
import { checkId } from './ids.js';
import type { RunRef } from './run-ref.js';
import { RunWaiter } from './run-waiter.js';
import { RunsClient, WorkersClient } from './runs.js';
import { RateLimitsClient } from './rate-limits.js';
import { ConcurrencyClient } from './concurrency-keys.js';
import { Task, type DurableTaskOptions, type TaskOptions } from './task.js';
import { Workflow, type WorkflowOptions } from './workflow.js';
import { Triggerer, type RunOpts } from './trigger.js';
import { currentRun, type ChildLink } from './current-run.js';
import { dispatchKeyOf } from '../runtime/dispatch-signature.js';
import { Worker, type WorkerOptions } from './worker.js';
import { registryKey } from '../runtime/subjects.js';
import { checkMaxPayloadBytes } from '../runtime/payloads.js';

export interface SkeinOptions {
  /** Default: env SKEIN_NATS_URL, else nats://127.0.0.1:4222. */
  natsUrl?: string | string[];
  /** Default: env SKEIN_NAMESPACE, else 'skein'. */
  namespace?: string;
  /** Credentials and TLS for NATS (user/pass, token, NKey seed, creds file, TLS files); default: env SKEIN_NATS_*. */
  nats?: NatsOptions;
  logger?: Logger;
  /**
   * A secret shared with the engines (default: env SKEIN_DISPATCH_KEY): this client's workers
   * then run only dispatches the engine signed with it. Without it, whoever may publish on the
   * namespace's subjects can make workers run tasks (docs/API.md, "Security").
   */
  dispatchKey?: string;
  /**
   * The largest input, output, event payload, durable call result or log line, encoded, in
   * bytes (default 64 MB); a larger one is refused with a ValidationError. Values over 256 KB
   * are stored in the namespace's object store rather than in messages.
   */
  maxPayloadBytes?: number;
}

const SKEIN_OPTIONS = optionNames<SkeinOptions>({
  natsUrl: true,
  namespace: true,
  nats: true,
  logger: true,
  dispatchKey: true,
  maxPayloadBytes: true,
});

export class Skein {
  readonly runs: RunsClient;
  readonly workers: WorkersClient;
  readonly events: EventsClient;
  readonly schedules: SchedulesClient;
  readonly crons: CronsClient;
  readonly rateLimits: RateLimitsClient;
  readonly concurrency: ConcurrencyClient;
  readonly namespace: string;
  private readonly conn: SdkConnection;
  private readonly triggerer: Triggerer;
  private readonly waiter: RunWaiter;
  private readonly logger: Logger;
  private readonly started = new Set<Worker>();

  static init(opts: SkeinOptions = {}): Skein {
    return new Skein(opts);
  }

  private constructor(opts: SkeinOptions) {
    checkOptions(opts, SKEIN_OPTIONS, 'Skein.init');
    checkNatsOptions(opts.nats, 'Skein.init');
    try {
      this.namespace = validateNamespace(
        opts.namespace ?? process.env.SKEIN_NAMESPACE ?? DEFAULT_NAMESPACE,
      );
    } catch (err) {
      throw new ValidationError((err as Error).message);
    }
    this.logger = opts.logger ?? pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'info' });
    this.conn = new SdkConnection(
      names(this.namespace),
      opts.natsUrl,
      opts.nats,
      dispatchKeyOf(opts.dispatchKey),
      checkMaxPayloadBytes(opts.maxPayloadBytes, 'Skein.init'),
    );
    this.waiter = new RunWaiter(this.conn, this.logger);
    this.triggerer = new Triggerer(this.conn, this.waiter, () => currentRun.getStore());
    this.runs = new RunsClient(this.conn, this.triggerer);
    this.workers = new WorkersClient(this.conn);
    this.events = new EventsClient(this.conn);
    this.schedules = new SchedulesClient(this.conn);
    this.crons = new CronsClient(this.conn);
    this.rateLimits = new RateLimitsClient(this.conn);
    this.concurrency = new ConcurrencyClient(this.conn);
  }

  task<I = unknown, O = unknown>(options: TaskOptions<I, O>): Task<I, O> {
    return new Task<I, O>(options, this.triggerer);
  }

  /** A task whose durable calls (sleeps, event waits, memo, child runs) are recorded and replayed. */
  durableTask<I = unknown, O = unknown>(options: DurableTaskOptions<I, O>): Task<I, O> {
    return new Task<I, O>(options, this.triggerer, true);
  }

  workflow<I = unknown, O = Record<string, unknown>>(options: WorkflowOptions<I>): Workflow<I, O> {
    return new Workflow<I, O>(options, this.triggerer);
  }

  /** Triggers a task or workflow by name and waits for its output. */
  async run<O = unknown>(name: string, input: unknown, opts?: RunOpts): Promise<O> {
    const durable = currentRun.getStore()?.durable;
    if (durable)
      return durable.child<O>(
        name,
        (link) => this.startByName(name, input, opts, link),
        true,
      ) as Promise<O>;
    return (await this.runNoWait<O>(name, input, opts)).result();
  }

  /**
   * Triggers a task or workflow by name. The caller has no inputValidator to run: the worker
   * parses the input before the task starts.
   */
  async runNoWait<O = unknown>(name: string, input: unknown, opts?: RunOpts): Promise<RunRef<O>> {
    const durable = currentRun.getStore()?.durable;
    if (durable)
      return durable.child<O>(
        name,
        (link) => this.startByName(name, input, opts, link),
        false,
      ) as Promise<RunRef<O>>;
    return this.startByName(name, input, opts);
  }

  private async startByName<O>(
    name: string,
    input: unknown,
    opts: RunOpts | undefined,
    link?: ChildLink,
  ): Promise<RunRef<O>> {
    const reg = await this.registered(name);
    const defaults = {
      defaultPriority: reg.defaultPriority,
      defaultAdditionalMetadata: reg.defaultAdditionalMetadata ?? {},
    };
    return this.triggerer.send<O>(
      await this.triggerer.prepare(reg.spec, defaults, input, opts, true, link),
    );
  }

  /** A handle on an existing run. */
  runRef<O = unknown>(runId: string): RunRef<O> {
    // Any id may come here: its cancel checks, as runs.cancel does, that the run exists.
    return this.triggerer.ref<O>(runId, undefined, () => this.runs.cancel(runId));
  }

  async worker(name: string, opts: WorkerOptions): Promise<Worker> {
    const worker: Worker = new Worker(name, opts, this.conn, this.logger, async () => {
      this.started.add(worker);
      // Declared crons exist once the worker that serves them has started.
      await declareCrons(this.conn, opts.workflows);
    });
    return worker;
  }

  /** Stops this client's workers and drains the connection. */
  async close() {
    await Promise.all([...this.started].map((w) => w.stop()));
    this.waiter.close();
    await this.conn.close();
  }

  private async registered(name: string): Promise<RegisteredTask> {
    checkId('name', name);
    const { registry } = await this.conn.ready();
    const entry = await registry.get(registryKey(name));
    if (!entry || entry.operation !== 'PUT') {
      throw new NotFoundError(
        `no task or workflow named '${name}' has been registered by any worker in namespace '${this.namespace}'`,
      );
    }
    try {
      const registered = decode<RegisteredTask>(entry.value);
      registeredTaskSchema.parse(registered); // checked, not stripped: it may carry more defaults
      return registered;
    } catch {
      throw new NotFoundError(
        `the registration of '${name}' in namespace '${this.namespace}' is malformed: start a worker that serves it`,
      );
    }
  }
}
