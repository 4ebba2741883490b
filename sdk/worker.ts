/**
 * A worker: registers the tasks it serves, heartbeats, accepts dispatches up to its slots,
 * runs task code and stores each result durably in the run's mailbox.
 */
import { randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Msg, Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { TaskError } from '../actors/run/messages.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { decode, encode } from '../runtime/codec.js';
import type { RegisteredTask, WorkerRecord } from '../runtime/protocol.js';
import type { Connected, SdkConnection } from './connection.js';
import { ContextImpl, type LogLine } from './context-impl.js';
import { NonRetryableError, TimeoutError, ValidationError } from './errors.js';
import { assertSize, toJson } from './json.js';
import { maxOutputBytes } from './trigger.js';
import { validateInput, type TaskFunction } from './task.js';
import type { RunSpec } from '../actors/run/spec.js';
import type { TriggerDefaults } from './trigger.js';

/** What a worker needs of a task or workflow declaration. */
export interface Declaration {
  readonly spec: RunSpec;
  readonly defaults: TriggerDefaults;
  /** Declared event and cron triggers, registered with the task. */
  readonly triggers: { onEvents?: string[]; onCrons?: string[] };
  functions(): Map<string, TaskFunction>;
}

export interface WorkerOptions {
  /** Tasks and workflows this worker serves. */
  workflows: Declaration[];
  slots?: number;
  durableSlots?: number;
  labels?: Record<string, string | number>;
  /** How long `stop()` waits for running tasks before handing them back. Default 30 s. */
  stopGraceMs?: number;
}

interface Execution {
  task: QueuedTask;
  controller: AbortController;
  finished: Promise<void>;
}

const HEARTBEAT_MS = 2000;
const RESULT_PUBLISH_ATTEMPTS = 10;

/** The run a piece of task code belongs to, so runs it triggers become its children. */
export const currentRun = new AsyncLocalStorage<{ runId: string }>();

export class Worker {
  readonly id: string;
  private readonly fns = new Map<string, TaskFunction>();
  private readonly registrations: RegisteredTask[] = [];
  /** Task runs this worker holds, until their result is stored (reported in heartbeats). */
  private readonly running = new Map<string, Execution>();
  /** Task runs whose code is running: what counts against the slots. */
  private executing = 0;
  private readonly slots: number;
  private subs: Subscription[] = [];
  private heartbeat?: NodeJS.Timeout;
  private stopping = false;
  private c?: Connected;
  private readonly pendingLogs = new Set<Promise<unknown>>();

  constructor(
    readonly name: string,
    private readonly opts: WorkerOptions,
    private readonly conn: SdkConnection,
    private readonly logger: Logger,
  ) {
    if (typeof name !== 'string' || name.length === 0)
      throw new ValidationError('worker name must be a non-empty string');
    this.id = `${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomUUID().slice(0, 8)}`;
    this.slots = opts.slots ?? 100;
    if (!Number.isInteger(this.slots) || this.slots < 1)
      throw new ValidationError(`worker '${name}': slots must be a whole number >= 1`);
    if (!Array.isArray(opts.workflows) || opts.workflows.length === 0) {
      throw new ValidationError(
        `worker '${name}': workflows must list at least one task or workflow`,
      );
    }
    for (const decl of opts.workflows) {
      for (const [taskName, f] of decl.functions()) this.fns.set(taskName, f);
      this.registrations.push({ spec: decl.spec, ...decl.defaults, ...decl.triggers });
    }
  }

  /** Resolves once the worker is registered and taking work. */
  async start() {
    const c = (this.c = await this.conn.ready());
    const n = this.conn.names;
    for (const reg of this.registrations)
      await c.registry.put(registryKey(reg.spec.name), encode(reg));
    this.subs.push(
      c.nc.subscribe(n.workerDispatch(this.id), { callback: (_e, msg) => this.onDispatch(msg) }),
      c.nc.subscribe(n.workerCancel(this.id), {
        callback: (_e, msg) => {
          const { key, reason } = decode<{ key: string; reason: string }>(msg.data);
          this.running.get(key)?.controller.abort(new Error(String(reason)));
        },
      }),
    );
    await c.nc.flush();
    await this.beat();
    this.heartbeat = setInterval(
      () => void this.beat().catch((err: unknown) => this.logger.warn({ err }, 'heartbeat failed')),
      HEARTBEAT_MS,
    );
  }

  /** Stops taking work, lets running tasks finish (up to stopGraceMs), hands back the rest. */
  async stop() {
    if (!this.c || this.stopping) return;
    this.stopping = true;
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
      taskNames: [...this.fns.keys()],
      running: [...this.running.keys()],
      stopping: this.stopping,
      sentAt: Date.now(),
      labels: this.opts.labels,
    };
  }

  private async beat() {
    await this.c!.workers.put(this.conn.names.workerKey(this.id), encode(this.record()));
  }

  private onDispatch(msg: Msg) {
    let tasks: QueuedTask[];
    try {
      tasks = decode<QueuedTask[]>(msg.data);
      if (!Array.isArray(tasks)) throw new Error('not a list of task runs');
    } catch (err) {
      this.logger.warn({ err }, 'ignored a malformed dispatch');
      return;
    }
    for (const task of tasks) this.accept(task);
  }

  private accept(task: QueuedTask) {
    if (this.running.has(task.key)) return;
    const fn = this.fns.get(task.taskName);
    if (this.stopping || !fn || this.executing >= this.slots) {
      this.c!.nc.publish(
        this.conn.names.schedulerRejected,
        encode({ key: task.key, workerId: this.id }),
      );
      return;
    }
    const controller = new AbortController();
    const execution: Execution = { task, controller, finished: Promise.resolve() };
    this.running.set(task.key, execution);
    this.executing++;
    execution.finished = this.execute(task, fn, controller)
      .then((stored) => {
        this.running.delete(task.key);
        // Frees the slot in the scheduler before the outcome reaches it through the journal.
        if (stored)
          this.c!.nc.publish(
            this.conn.names.schedulerFinished,
            encode({ key: task.key, workerId: this.id }),
          );
      })
      .catch((err: unknown) => {
        this.running.delete(task.key);
        this.logger.error(
          { err, runId: task.runId },
          'could not store a task result; the scheduler will queue the task again',
        );
      });
  }

  /** Runs the task and stores its result; false when it was handed back instead. */
  private async execute(
    task: QueuedTask,
    { fn, inputValidator }: TaskFunction,
    controller: AbortController,
  ): Promise<boolean> {
    const startedAt = Date.now();
    let deadline = startedAt + task.executionTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let refresh: (byMs: number) => void = () => undefined;
    const timedOut = new Promise<never>((_, reject) => {
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => {
            const err = new TimeoutError(
              `task '${task.taskName}' timed out after ${deadline - startedAt} ms (executionTimeout)`,
            );
            controller.abort(err);
            reject(err);
          },
          Math.max(0, deadline - Date.now()),
        );
      };
      arm();
      refresh = (byMs: number) => {
        deadline += byMs;
        arm();
      };
    });
    const cancelled = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
        once: true,
      });
    });
    // Either may reject after the task's code is done (a cancel while its result is stored):
    // not an unhandled rejection, which would stop the worker's process.
    timedOut.catch(() => undefined);
    cancelled.catch(() => undefined);
    const ctx = new ContextImpl<unknown>(
      task,
      {
        workerId: this.id,
        storeLog: (line) => this.storeLog(task.runId, line),
        refreshTimeout: async (byMs) => {
          refresh(byMs);
          await this.sendToRun(task.runId, {
            type: 'TimeoutRefreshed',
            id: `refresh:${task.key}:${randomUUID()}`,
            key: task.key,
            taskName: task.taskName,
            byMs,
          });
        },
        cancelRun: async () => {
          await this.sendToRun(task.runId, {
            type: 'Cancel',
            id: `cancel:${task.runId}:${randomUUID()}`,
            reason: 'cancelled by ctx.cancel()',
          });
          controller.abort(new Error('cancelled by ctx.cancel()'));
        },
      },
      controller.signal,
    );
    let output: unknown;
    let error: TaskError | undefined;
    try {
      if (task.unparsedInput && inputValidator)
        task.input = await parsedOrFatal(inputValidator, task);
      const work = currentRun.run({ runId: task.runId }, () =>
        Promise.resolve().then(() => fn(task.input, ctx)),
      );
      output = toJson(
        await Promise.race([work, timedOut, cancelled]),
        `output of task '${task.taskName}'`,
      );
      assertOutputFits(output, task.taskName, this.c!.maxPayload);
    } catch (err) {
      error = toTaskError(err);
    } finally {
      clearTimeout(timer);
      // The slot is free once the code is done; the task run stays held until its result is stored.
      this.executing--;
    }
    await Promise.all(this.pendingLogs);
    // Handed back by stop(): no result, so the attempt is not spent; the scheduler queues it again.
    if (controller.signal.reason instanceof HandedBack) return false;
    await this.sendToRun(task.runId, {
      type: 'TaskResult',
      id: `result:${task.key}`,
      key: task.key,
      taskName: task.taskName,
      workerId: this.id,
      startedAt,
      finishedAt: Date.now(),
      ...(error ? { error } : { output }),
    });
    return true;
  }

  /** Delivers a message to a run, retrying while NATS is unavailable. */
  private async sendToRun(
    runId: string,
    message: { id: string; type: string } & Record<string, unknown>,
  ) {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.c!.deliverer.deliver('run', runId, message, encodedSize(message));
        return;
      } catch (err) {
        if (attempt >= RESULT_PUBLISH_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  private storeLog(runId: string, line: LogLine) {
    const p = this.c!.js.publish(this.conn.names.logSubject(runId), encode(line)).catch(
      (err: unknown) => {
        this.logger.warn({ err, runId }, 'could not store a log line');
      },
    );
    this.pendingLogs.add(p);
    void p.finally(() => this.pendingLogs.delete(p));
  }
}

/** Messages from task code carry its output: measure it so batches stay under max_payload. */
function encodedSize(message: object): number {
  return encode(message).length;
}

/** Input from a trigger by name meets the task's inputValidator here; bad input fails the run at once. */
async function parsedOrFatal(
  validator: NonNullable<TaskFunction['inputValidator']>,
  task: QueuedTask,
) {
  try {
    return await validateInput(validator, task.input, task.taskName);
  } catch (err) {
    throw new NonRetryableError((err as Error).message);
  }
}

/** An output the run's journal could not store fails the attempt for good, saying why. */
function assertOutputFits(output: unknown, taskName: string, maxPayload: number) {
  try {
    assertSize(
      encode(output).length,
      maxOutputBytes(maxPayload),
      `output of task '${taskName}'`,
      'outputs are stored three times in one message',
    );
  } catch (err) {
    throw new NonRetryableError((err as Error).message);
  }
}

/** Why a task's signal aborts when its worker stops before the task finished. */
class HandedBack extends Error {
  constructor(workerId: string) {
    super(`worker ${workerId} stopped; the task run goes back to the queue`);
  }
}

export function registryKey(name: string) {
  return `t.${Buffer.from(name).toString('hex')}`;
}

function toTaskError(err: unknown): TaskError {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message || err.name,
      nonRetryable: err instanceof NonRetryableError || undefined,
    };
  }
  return {
    name: 'Error',
    message: typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)),
  };
}
