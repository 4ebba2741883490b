/**
 * A worker's side of durable tasks: reading a task's recorded calls before replaying it, and
 * the I/O of its durable calls: recording results, and suspending on a wait in memory until
 * the run's resumption is dispatched back (or the task is evicted and later replayed).
 */
import type { Logger } from 'pino';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import type { SdkConnection } from './connection.js';
import type { Deadline } from './deadline.js';
import type { Delivery } from './deliver.js';
import type { DurableIo } from './durable-calls.js';
import type { KnownHistory } from './known-histories.js';
import type { SuspendedTasks } from './suspended-tasks.js';
import type { TaskFunction } from './task.js';
import { attemptScope, durableCallId, durableWaitId } from '../runtime/ids.js';

const HISTORY_FETCH_ATTEMPTS = 5;

/** A task run a worker holds, from dispatch until its result is stored. */
export interface Execution {
  /** Changes when a suspended durable task resumes under a new queue key. */
  task: QueuedTask;
  controller: AbortController;
  finished: Promise<void>;
  /** Suspended: a durable task waiting on a durable call, its slot given back. */
  phase: 'active' | 'suspended' | 'done';
  /** A durable task's history as this execution knows it (grows as it records calls). */
  history?: KnownHistory;
}

/** What a durable execution needs of its worker. */
export interface DurableHost {
  workerId(): string;
  logger(): Logger;
  suspended: SuspendedTasks;
  sendToRun(
    runId: string,
    message: { id: string; type: string } & Record<string, unknown>,
  ): Promise<Delivery>;
  /** `value`, or a reference to it stored as an object of the run when it is large. */
  store(value: unknown, runId: string, what: string): Promise<unknown>;
  /** The execution gives its slot back while it waits... */
  park(execution: Execution): void;
  /** ...and takes one again when it resumes. */
  unpark(execution: Execution): void;
  /** Keeps what a dropped execution knew of its history, for its next dispatch. */
  keepHistory(execution: Execution): void;
}

/** Why a waiting durable task's signal aborts when the worker drops it from memory. */
export class Evicted extends Error {
  constructor(reason: string) {
    super(`the waiting durable task was dropped from memory (${reason}); it resumes by replay`);
  }
}

/** What a worker has read of durable task histories (a figure for tests and benchmarks). */
export interface HistoryReads {
  /** Requests to the engine for recorded calls. */
  requests: number;
  /** Recorded calls those answers carried. */
  calls: number;
}

/**
 * The durable task's recorded calls, read from its run: only those after `known` (what this
 * worker still has of the attempt), page by page. Undefined hands the task back, and 'stale'
 * means the run has moved past this attempt.
 */
export async function readDurableHistory(
  conn: SdkConnection,
  task: QueuedTask,
  logger: Logger,
  reads: HistoryReads,
  known: KnownHistory = { calls: [] },
): Promise<KnownHistory | 'stale' | undefined> {
  let calls = [...known.calls];
  let next = known.next;
  for (let attempt = 1; ;) {
    try {
      const page = await conn.api('durable.history', {
        runId: task.runId,
        taskName: task.taskName,
        key: task.key,
        after: calls.length,
        from: next,
      });
      reads.requests++;
      reads.calls += page.calls.length;
      if (!page.live) return 'stale';
      // An engine of 0.1 ignores `after` and answers every call, without a total.
      if (page.total === undefined) return { calls: page.calls };
      if (page.total < calls.length) {
        // The run recorded fewer calls than this worker thought: trust the run, read them all.
        calls = [];
        next = undefined;
        continue;
      }
      calls.push(...page.calls);
      next = page.next;
      if (calls.length >= page.total) return { calls, next };
      if (page.calls.length === 0) throw new Error('the engine sent no calls of those missing');
      attempt = 1;
    } catch (err) {
      if (attempt >= HISTORY_FETCH_ATTEMPTS) {
        logger.warn(
          { err, runId: task.runId },
          'could not read a durable task history; handing the task back',
        );
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      attempt++;
    }
  }
}

/** How a durable execution records its calls and waits: suspended in memory, resumed by dispatch. */
export function durableIo(
  host: DurableHost,
  execution: Execution,
  deadline: Deadline,
  policy: NonNullable<TaskFunction['durable']>,
  onResume: () => void,
): DurableIo {
  const { runId, taskName } = execution.task;
  return {
    record: async (call) => {
      await host.sendToRun(runId, {
        type: 'DurableCall',
        id: durableCallId(attemptScope(execution.task.key), call.position),
        key: execution.task.key,
        taskName,
        workerId: host.workerId(),
        ...call,
        result: await host.store(
          call.result,
          runId,
          `the result of durable ${call.kind} at position ${call.position}`,
        ),
      });
    },
    wait: (call) =>
      new Promise((resolve, reject) => {
        const key = execution.task.key;
        const sendWait = () =>
          void host
            .sendToRun(runId, {
              type: 'DurableWait',
              id: durableWaitId(key, call.position),
              key,
              taskName,
              workerId: host.workerId(),
              ...call,
            })
            .then((how) => {
              // Its turn is stored, so the run holds the wait: nothing can take the task for lost.
              if (how === 'turned') host.suspended.waitRecorded({ runId, taskName, key });
            })
            .catch((err: unknown) => {
              host.logger().warn({ err, runId }, 'could not store a durable wait');
              host.suspended.drop(execution.task, 'its wait could not be stored');
            });
        // Held before the wait is sent: the resume may be dispatched before the send returns.
        deadline.pause();
        host.park(execution);
        execution.phase = 'suspended';
        host.suspended.hold(
          execution.task,
          {
            position: call.position,
            allowCapacityEviction: policy.allowCapacityEviction,
            resume: (task) => {
              execution.task = task;
              execution.phase = 'active';
              host.unpark(execution);
              deadline.start();
              onResume();
              resolve(task.resume?.result);
            },
            evict: (reason) => {
              execution.phase = 'done';
              host.keepHistory(execution);
              const err = new Evicted(reason);
              execution.controller.abort(err);
              reject(err);
            },
            sendWaitAgain: sendWait,
          },
          policy.ttlMs,
        );
        sendWait();
      }),
  };
}
