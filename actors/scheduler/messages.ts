import type { QueuedTask } from './queued-task.js';

export interface Heartbeat {
  workerId: string;
  name: string;
  slots: number;
  /** Slots for durable tasks, apart from `slots` (default 1000). */
  durableSlots?: number;
  /** Each task or workflow it serves: its name and the names of its tasks. */
  serves: { name: string; tasks: string[] }[];
  /** Queue keys of the task runs the worker holds right now. */
  running: string[];
  /**
   * Queue keys of durable task runs it holds suspended on a wait (not in `running`: their code
   * gave its slot back). The run may not have recorded the wait yet; until it does, the
   * scheduler must not take the key for lost. Absent from older workers' heartbeats.
   */
  suspended?: string[];
  /** Waiting durable tasks it keeps in memory and may not evict: each holds a durable slot. */
  pinned?: string[];
  stopping: boolean;
  sentAt: number;
  labels?: Record<string, string | number>;
}

/** What the scheduler receives: queue entries, worker news, and the clock. */
export type SchedulerMessage =
  | { type: 'Enqueue'; task: QueuedTask; redelivered: boolean }
  | { type: 'Heartbeat'; heartbeat: Heartbeat }
  | { type: 'WorkerLeft'; workerId: string }
  /** The attempt is over (its outcome is in the journal). */
  | { type: 'TaskDone'; key: string }
  /** A worker stored a task run's result: its slot is free before the outcome reaches the scheduler. */
  | { type: 'TaskFinished'; key: string; workerId: string }
  | { type: 'DispatchRejected'; key: string; workerId: string }
  /** The run recorded why `key` was requeued from `workerId` (its `TaskRequeued`, in the journal). */
  | { type: 'RequeueRecorded'; key: string; workerId: string }
  | { type: 'Abort'; key: string; reason: string }
  | { type: 'Tick' }
  /** A rate limit upserted with `skein.rateLimits.upsert`. */
  | { type: 'RateLimitDefined'; key: string; limit: number; durationMs: number };

/** What the scheduler asks its host to do. */
export type SchedulerEffect =
  | { type: 'dispatch'; workerId: string; task: QueuedTask }
  /** The scheduler is done with this task run: its journal entry may be acknowledged. */
  | { type: 'ack'; key: string }
  | { type: 'abortOnWorker'; workerId: string; key: string; reason: string }
  | {
      type: 'tellRun';
      runId: string;
      message: { id: string; type: string } & Record<string, unknown>;
    };
