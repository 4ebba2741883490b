/**
 * A worker: registers the tasks it serves, heartbeats, accepts dispatches up to its slots,
 * runs task code and stores each result durably in the run's mailbox.
 */
import { randomUUID } from 'node:crypto';
import type { Msg, Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { TaskError } from '../actors/run/messages.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { DEFAULT_DURABLE_SLOTS, WORKER_HEARTBEAT_MS } from '../actors/scheduler/state.js';
import { decode, encode } from '../runtime/codec.js';
import { formatHeaders } from '../runtime/format.js';
import { signedBy } from '../runtime/dispatch-signature.js';
import { guarded, rejected } from '../runtime/rejections.js';
import { cancelSchema, dispatchedTaskProblem } from './dispatched-task.js';
import type { WorkerRecord } from '../runtime/protocol.js';
import type { Connected, SdkConnection } from './connection.js';
import type { Delivery } from './deliver.js';
import { ContextImpl, type ContextHost, type LogLine } from './context-impl.js';
import { currentRun } from './current-run.js';
import { Deadline } from './deadline.js';
import { DurableCalls } from './durable-calls.js';
import { KnownHistories } from './known-histories.js';
import {
  durableIo,
  Evicted,
  readDurableHistory,
  type HistoryReads,
  type DurableHost,
  type Execution,
} from './durable-worker.js';
import { DurableContextImpl } from './durable-context-impl.js';
import { ValidationError } from './errors.js';
import { checkId } from './ids.js';
import { Replayer } from './replayer.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import { SuspendedTasks } from './suspended-tasks.js';
import { toJson } from './json.js';
import type { TaskFunction } from './task.js';
import { Fatal, parsedOrFatal, toTaskError } from './task-outcome.js';
import { startTaskSpan, type TaskSpan } from './tracing.js';
import { holdsRef } from '../runtime/payload-ref.js';
import { outputInlineLimit } from '../runtime/payloads.js';
import { functionFor, servedBy, type Declaration, type Served } from './served.js';
import { refusal, refusedError } from '../runtime/permissions.js';
import { attemptScope, cancelId, taskResultId, timeoutRefreshId } from '../runtime/ids.js';
import { registryKey } from '../runtime/subjects.js';

export type { Declaration } from './served.js';

export interface WorkerOptions {
  /** Tasks and workflows this worker serves. */
  workflows: Declaration[];
  slots?: number;
  durableSlots?: number;
  labels?: Record<string, string | number>;
  /** How long `stop()` waits for running tasks before handing them back. Default 30 s. */
  stopGraceMs?: number;
}

const WORKER_OPTIONS = optionNames<WorkerOptions>({
  workflows: true,
  slots: true,
  durableSlots: true,
  labels: true,
  stopGraceMs: true,
});

const RESULT_PUBLISH_ATTEMPTS = 10;

export class Worker {
  readonly id: string;
  /** What it serves; known once `start()` checked its declarations. */
  private served: Served = { functions: new Map(), registrations: [], serves: [] };
  /** Task runs this worker holds, until their result is stored (reported in heartbeats). */
  private readonly running = new Map<string, Execution>();
  /** Task runs whose code is running: what counts against the slots. */
  private executing = 0;
  /** The same, for durable tasks (they count against durableSlots). */
  private durableExecuting = 0;
  /** Durable tasks waiting in memory on a durable call. */
  private readonly suspended = new SuspendedTasks(() => this.beatSoon());
  private readonly slots: number;
  private readonly durableSlots: number;
  private subs: Subscription[] = [];
  private heartbeat?: NodeJS.Timeout;
  private stopping = false;
  private c?: Connected;
  private readonly pendingLogs = new Set<Promise<unknown>>();
  /** Per run, the upload of a large log line that the run's next lines wait for. */
  private readonly logUploads = new Map<string, Promise<unknown>>();
  private readonly knownHistories = new KnownHistories();
  private readonly reads: HistoryReads = { requests: 0, calls: 0 };

  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(
    readonly name: string,
    private readonly opts: WorkerOptions,
    private readonly conn: SdkConnection,
    private readonly logger: Logger,
    /** Called once the worker is taking work (the client tracks it, and declares its crons). */
    private readonly onStarted: () => Promise<void> = async () => undefined,
  ) {
    checkId('worker name', name);
    checkOptions(opts, WORKER_OPTIONS, `worker '${name}'`);
    this.id = `${name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 200)}-${randomUUID().slice(0, 8)}`;
    this.slots = opts.slots ?? 100;
    if (!Number.isInteger(this.slots) || this.slots < 1)
      throw new ValidationError(`worker '${name}': slots must be a whole number >= 1`);
    this.durableSlots = opts.durableSlots ?? DEFAULT_DURABLE_SLOTS;
    if (!Number.isInteger(this.durableSlots) || this.durableSlots < 1)
      throw new ValidationError(`worker '${name}': durableSlots must be a whole number >= 1`);
    if (!Array.isArray(opts.workflows) || opts.workflows.length === 0) {
      throw new ValidationError(
        `worker '${name}': workflows must list at least one task or workflow`,
      );
    }
  }

  /**
   * What this worker has read of durable task histories so far: requests to the engine and
   * the recorded calls they brought. A durable task it dropped from memory while it waited
   * reads, when it comes back to this worker, only the calls recorded since.
   */
  get historyReads(): Readonly<HistoryReads> {
    return { ...this.reads };
  }

  /** Resolves once the worker is registered and taking work. */
  async start() {
    try {
      await this.register();
    } catch (err) {
      for (const sub of this.subs) sub.unsubscribe();
      this.subs = [];
      throw refusal(err) ?? err;
    }
    this.heartbeat = setInterval(
      () => void this.beat().catch((err: unknown) => this.logger.warn({ err }, 'heartbeat failed')),
      WORKER_HEARTBEAT_MS,
    );
    await this.onStarted();
  }

  private async register() {
    this.served = servedBy(this.name, this.opts.workflows);
    const c = (this.c = await this.conn.ready());
    const n = this.conn.names;
    for (const reg of this.served.registrations)
      await c.registry.put(registryKey(reg.spec.name), encode(reg));
    this.subs.push(
      c.nc.subscribe(n.workerDispatch(this.id), {
        callback: guarded(this.logger, 'dispatch-failed', (msg) => this.onDispatch(msg)),
      }),
      c.nc.subscribe(n.workerCancel(this.id), {
        callback: guarded(this.logger, 'cancel-malformed', (msg) => {
          if (!this.fromEngine(msg, 'cancel-unsigned')) return;
          const cancel = cancelSchema.parse(decode(msg.data));
          const reason = String(cancel.reason);
          this.running.get(cancel.key)?.controller.abort(new Error(reason));
          // A durable task waiting in memory: its run ended, so it is dropped (its signal aborts).
          if (cancel.runId && cancel.taskName)
            this.suspended.drop(
              { runId: cancel.runId, taskName: cancel.taskName },
              `its run was cancelled: ${reason}`,
            );
        }),
      }),
    );
    await c.nc.flush();
    // The server refuses a subscription before it answers the flush.
    const denied = this.subs.find((sub) => sub.isClosed());
    if (denied) throw refusedError('subscription', denied.getSubject());
    await this.beat();
  }

  /** Stops taking work, lets running tasks finish (up to stopGraceMs), hands back the rest. */
  async stop() {
    if (!this.c || this.stopping) return;
    this.stopping = true;
    // Waiting durable tasks go back at once: whoever is free resumes them by replay.
    this.suspended.dropAll('the worker is stopping');
    await this.beat().catch(() => undefined);
    const grace = new Promise((resolve) =>
      setTimeout(resolve, this.opts.stopGraceMs ?? 30_000).unref(),
    );
    await Promise.race([Promise.all([...this.running.values()].map((e) => e.finished)), grace]);
    clearInterval(this.heartbeat);
    for (const e of this.running.values()) e.controller.abort(new HandedBack(this.id));
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
    // Removing the record tells the scheduler at once to hand what is left to other workers.
    await this.c.workers.delete(this.conn.names.workerKey(this.id)).catch(() => undefined);
    await Promise.all(this.pendingLogs);
  }

  private record(): WorkerRecord {
    return {
      workerId: this.id,
      name: this.name,
      slots: this.slots,
      durableSlots: this.durableSlots,
      serves: this.served.serves,
      running: [...this.running.keys()],
      suspended: this.suspended.unrecordedKeys(),
      pinned: this.suspended.pinned(),
      stopping: this.stopping,
      sentAt: Date.now(),
      labels: this.opts.labels,
    };
  }

  private beatSoon() {
    if (!this.c || this.stopping) return;
    void this.beat().catch((err: unknown) => this.logger.warn({ err }, 'heartbeat failed'));
  }

  private async beat() {
    await this.c!.workers.put(this.conn.names.workerKey(this.id), encode(this.record()));
  }

  private onDispatch(msg: Msg) {
    if (!this.fromEngine(msg, 'dispatch-unsigned')) return;
    let tasks: QueuedTask[];
    try {
      tasks = decode<QueuedTask[]>(msg.data);
      if (!Array.isArray(tasks)) throw new Error('not a list of task runs');
    } catch (err) {
      rejected(this.logger, 'dispatch-malformed', err);
      return;
    }
    for (const task of tasks) {
      const problem = dispatchedTaskProblem(task);
      if (problem) rejected(this.logger, 'dispatch-malformed', problem);
      else if (holdsRef(task)) void this.acceptStored(task);
      else this.accept(task);
    }
  }

  /** A task run that carries values stored as objects (its input, a parent's output, a resumed call's result) reads them first. */
  private async acceptStored(task: QueuedTask) {
    try {
      this.accept(await this.c!.payloads.resolve(task));
    } catch (err) {
      this.logger.warn(
        { err, runId: task.runId },
        'could not read a stored payload; handing the task back',
      );
      this.handBack(task);
    }
  }

  private handBack(task: QueuedTask) {
    this.c!.nc.publish(
      this.conn.names.schedulerRejected,
      encode({ key: task.key, workerId: this.id }),
    );
  }

  /** With a dispatch key, only what the engine signed is taken (the rest is counted under `reason`). */
  private fromEngine(msg: Msg, reason: string): boolean {
    const key = this.conn.dispatchKey;
    if (!key || signedBy(key, msg)) return true;
    rejected(this.logger, reason);
    return false;
  }

  private accept(task: QueuedTask) {
    if (this.running.has(task.key)) return;
    if (task.durable && !this.stopping && this.suspended.resume(task)) return;
    const fn = functionFor(this.served, task);
    if (this.stopping || !fn || !this.hasRoomFor(task)) {
      this.handBack(task);
      return;
    }
    const execution: Execution = {
      task,
      controller: new AbortController(),
      finished: Promise.resolve(),
      phase: 'active',
    };
    this.running.set(task.key, execution);
    this.count(execution, +1);
    execution.finished = this.execute(execution, fn)
      .then((stored) => {
        this.release(execution);
        // Frees the slot in the scheduler before the outcome reaches it through the journal.
        if (stored)
          this.c!.nc.publish(
            this.conn.names.schedulerFinished,
            encode({ key: execution.task.key, workerId: this.id }),
          );
      })
      .catch((err: unknown) => {
        this.release(execution);
        this.logger.error(
          { err, runId: task.runId },
          'could not store a task result; the scheduler will queue the task again',
        );
      });
  }

  /** Forgets an execution that ended, unless a newer one holds its key (a durable task dispatched again). */
  private release(execution: Execution) {
    if (this.running.get(execution.task.key) === execution) this.running.delete(execution.task.key);
  }

  private hasRoomFor(task: QueuedTask) {
    if (!task.durable) return this.executing < this.slots;
    const full = () => this.durableExecuting + this.suspended.size >= this.durableSlots;
    return !full() || (this.suspended.evictOne() && !full());
  }

  /** Counts an execution that starts or stops running code against its kind of slots. */
  private count(execution: Execution, delta: 1 | -1) {
    if (execution.task.durable) this.durableExecuting += delta;
    else this.executing += delta;
  }

  /**
   * Runs the task and stores its result. True when the scheduler may free the slot at once (the
   * result is stored, or the dispatch was stale); false when the task was handed back instead.
   */
  private async execute(execution: Execution, fn: TaskFunction): Promise<boolean> {
    const attempt = newAttempt(execution);
    let outcome: Outcome;
    try {
      const calls = await this.prepare(attempt, fn);
      if (calls === 'hand back') return false;
      // A dispatch of an attempt the run has moved past: nothing to run, the slot is free.
      if (calls === 'stale') return true;
      outcome = await this.run(attempt, fn, calls);
    } finally {
      this.settle(attempt);
    }
    return this.report(attempt, outcome);
  }

  /** A durable task's recorded calls, read from its run, to replay (none for other tasks). */
  private async prepare(
    attempt: Attempt,
    { durable }: TaskFunction,
  ): Promise<DurableCalls | undefined | 'hand back' | 'stale'> {
    if (!durable) return undefined;
    const { execution, deadline } = attempt;
    const { task } = execution;
    const known = this.knownHistories.take(task.key);
    const history = await readDurableHistory(this.conn, task, this.logger, this.reads, known);
    if (!history) return 'hand back';
    if (history === 'stale') return 'stale';
    execution.history = history;
    const io = durableIo(this.durableHost, execution, deadline, durable, () => {
      attempt.startedAt = Date.now();
    });
    return new DurableCalls(
      new Replayer(history.calls, task.taskName),
      io,
      attemptScope(task.key),
      task.taskName,
    );
  }

  /** Runs the task's code in the attempt's span (when traces are on). */
  private async run(
    attempt: Attempt,
    fn: TaskFunction,
    calls: DurableCalls | undefined,
  ): Promise<Outcome> {
    const span = startTaskSpan(attempt.execution.task, this.id);
    const outcome = await this.runCode(attempt, fn, calls, span);
    const reason: unknown = attempt.execution.controller.signal.reason;
    span?.end({
      error: 'error' in outcome ? outcome.error : undefined,
      handedBack: reason instanceof HandedBack || reason instanceof Evicted,
    });
    return outcome;
  }

  /** Runs the task's code, within its deadline and until cancelled, to its output or its error. */
  private async runCode(
    attempt: Attempt,
    { fn, inputValidator }: TaskFunction,
    calls: DurableCalls | undefined,
    span: TaskSpan | undefined,
  ): Promise<Outcome> {
    const { execution, deadline, cancelled } = attempt;
    const { controller, task } = execution;
    try {
      const host = this.contextHost(attempt);
      const ctx = calls
        ? new DurableContextImpl<unknown>(task, host, controller.signal, calls)
        : new ContextImpl<unknown>(task, host, controller.signal);
      if (task.unparsedInput && inputValidator)
        task.input = await parsedOrFatal(inputValidator, task);
      if (task.placementError) throw new Fatal(new ValidationError(task.placementError));
      const { runId, additionalMetadata } = task;
      const code = () => Promise.resolve().then(() => fn(task.input, ctx));
      const work = currentRun.run({ runId, additionalMetadata, durable: calls }, () =>
        span ? span.run(code) : code(),
      );
      const output = toJson(
        await Promise.race([work, deadline.expired, cancelled]),
        `output of task '${task.taskName}'`,
      );
      // Code that caught a NonDeterminismError still took another path: the attempt fails.
      if (calls?.diverged) throw calls.diverged;
      const what = `output of task '${task.taskName}'`;
      return { output: await this.stored(output, runId, what, this.outputLimit(task)) };
    } catch (err) {
      // The stack of the code's own error is kept (a cancel or timeout has none worth keeping).
      return { error: toTaskError(err, err !== controller.signal.reason) };
    }
  }

  /** The code is done: its slot is free; the task run stays held until its result is stored. */
  private settle({ execution, deadline }: Attempt) {
    deadline.pause();
    if (execution.phase === 'active') this.count(execution, -1);
    // Code that returned without awaiting its wait: the resumed task replays instead.
    if (execution.phase === 'suspended') this.suspended.drop(execution.task, 'its code returned');
    execution.phase = 'done';
  }

  /** Stores the attempt's result in its run; false when there is none to store. */
  private async report({ execution, startedAt }: Attempt, outcome: Outcome): Promise<boolean> {
    await Promise.all(this.pendingLogs);
    // Handed back by stop() or dropped while waiting: no result, so the attempt is not spent;
    // the scheduler or the wait's end queues it again.
    const reason: unknown = execution.controller.signal.reason;
    if (reason instanceof HandedBack || reason instanceof Evicted) return false;
    const { key, runId, taskName } = execution.task;
    await this.sendToRun(runId, {
      type: 'TaskResult',
      id: taskResultId(key),
      key,
      taskName,
      workerId: this.id,
      startedAt,
      finishedAt: Date.now(),
      ...outcome,
    });
    return true;
  }

  /** What the task's context asks of this worker: logs, more time, cancelling its run. */
  private contextHost({ execution, deadline }: Attempt): ContextHost {
    const { controller, task } = execution;
    return {
      workerId: this.id,
      storeLog: (line) => this.storeLog(task.runId, line),
      putStream: (chunk) => this.c!.nc.publish(this.conn.names.runStream(task.runId), chunk),
      refreshTimeout: async (byMs) => {
        deadline.extend(byMs);
        await this.sendToRun(task.runId, {
          type: 'TimeoutRefreshed',
          id: timeoutRefreshId(execution.task.key),
          key: execution.task.key,
          taskName: task.taskName,
          byMs,
        });
      },
      cancelRun: async () => {
        await this.sendToRun(task.runId, {
          type: 'Cancel',
          id: cancelId(task.runId),
          reason: 'cancelled by ctx.cancel()',
        });
        controller.abort(new Error('cancelled by ctx.cancel()'));
      },
    };
  }

  /** What durable executions need of this worker to record calls, suspend and resume. */
  private readonly durableHost: DurableHost = {
    workerId: () => this.id,
    logger: () => this.logger,
    suspended: this.suspended,
    sendToRun: (runId, message) => this.sendToRun(runId, message),
    store: (value, runId, what) => this.c!.payloads.offload(value, { runId }, what),
    park: (execution) => {
      this.release(execution);
      this.count(execution, -1);
    },
    unpark: (execution) => {
      this.running.set(execution.task.key, execution);
      this.count(execution, +1);
    },
    keepHistory: ({ task, history }) => {
      if (history) this.knownHistories.keep(task.key, { ...history, calls: [...history.calls] });
    },
  };

  /** Delivers a message to a run, retrying while NATS is unavailable. */
  private async sendToRun(
    runId: string,
    message: { id: string; type: string } & Record<string, unknown>,
  ): Promise<Delivery> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.c!.deliverer.deliver('run', runId, message, encodedSize(message));
      } catch (err) {
        if (attempt >= RESULT_PUBLISH_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  /** `value`, or a reference to it stored as an object of the run when it is large; too large a value fails the attempt for good. */
  private async stored(
    value: unknown,
    runId: string,
    what: string,
    inlineBytes?: number,
  ): Promise<unknown> {
    const encoded = encode(value);
    try {
      this.c!.payloads.checkSize(encoded.length, what);
    } catch (err) {
      throw new Fatal(err as Error);
    }
    return this.c!.payloads.offload(value, { runId }, what, encoded, inlineBytes);
  }

  /** A workflow's outputs end up together in its last entry: each gets its share of the inline room. */
  private outputLimit(task: QueuedTask): number {
    const spec = this.served.registrations.find((r) => r.spec.name === task.workflowName)?.spec;
    return outputInlineLimit(this.c!.payloads.inlineBytes, spec);
  }

  private storeLog(runId: string, line: LogLine) {
    const { payloads, js } = this.c!;
    const publish = (message: unknown) =>
      js.publish(this.conn.names.logSubject(runId), encode({ ...line, message }), {
        headers: formatHeaders(),
      });
    // A line stored as an object waits for its upload; the run's later lines wait for it too,
    // so that its lines keep their order.
    const upload = this.logUploads.get(runId);
    let p: Promise<unknown>;
    if (!upload && encode(line.message).length <= payloads.inlineBytes) p = publish(line.message);
    else {
      p = (upload ?? Promise.resolve()).then(async () =>
        publish(await payloads.offload(line.message, { runId }, 'log line')),
      );
      const chained = p.catch(() => undefined);
      this.logUploads.set(runId, chained);
      void chained.then(() => {
        if (this.logUploads.get(runId) === chained) this.logUploads.delete(runId);
      });
    }
    const stored = p.catch((err: unknown) => {
      this.logger.warn({ err, runId }, 'could not store a log line');
    });
    this.pendingLogs.add(stored);
    void stored.finally(() => this.pendingLogs.delete(stored));
  }
}

/** One attempt at a task run on this worker. */
interface Attempt {
  execution: Execution;
  deadline: Deadline;
  /** Rejects with the signal's reason once the attempt is aborted (cancel, timeout, hand back). */
  cancelled: Promise<never>;
  /** When its code started, or resumed after a durable wait. */
  startedAt: number;
}

type Outcome = { output: unknown } | { error: TaskError };

/** Starts the attempt's deadline, which aborts it when it passes. */
function newAttempt(execution: Execution): Attempt {
  const { controller, task } = execution;
  const deadline = new Deadline(task.executionTimeoutMs, task.taskName, (err) =>
    controller.abort(err),
  );
  deadline.start();
  const cancelled = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
      once: true,
    });
  });
  // It may reject after the task's code is done (a cancel while its result is stored):
  // not an unhandled rejection, which would stop the worker's process.
  cancelled.catch(() => undefined);
  return { execution, deadline, cancelled, startedAt: Date.now() };
}

/** Messages from task code carry its output: measure it so batches stay under max_payload. */
function encodedSize(message: object): number {
  return encode(message).length;
}

/** Why a task's signal aborts when its worker stops before the task finished. */
class HandedBack extends Error {
  constructor(workerId: string) {
    super(`worker ${workerId} stopped; the task run goes back to the queue`);
  }
}
