import type { QueuedTask } from './queued-task.js';

/** Transitions of the scheduler's in-memory state. */
export type SchedulerEvent =
  | { type: 'EntryQueued'; task: QueuedTask; redelivered: boolean }
  | { type: 'EntryDispatched'; key: string; workerId: string; at: number }
  | { type: 'EntryClaimed'; key: string; workerId: string; at: number }
  | {
      type: 'EntryRequeued';
      key: string;
      at: number;
      /** Its run is told why: not dispatched again until it records that (see Entry.untold). */
      untold?: { workerId: string; until: number };
    }
  /** Its run recorded the requeue: it may go, and its schedule timeout counts from now. */
  | { type: 'EntryRequeueRecorded'; key: string; at: number }
  | { type: 'WorkerPaused'; workerId: string; until: number }
  | { type: 'EntryReleased'; key: string }
  /** The worker finished the task run: its slot is free, its outcome not read yet. */
  | { type: 'EntryFinished'; key: string }
  | {
      type: 'WorkerSeen';
      workerId: string;
      name: string;
      slots: number;
      durableSlots: number;
      pinned: string[];
      /** The tasks it serves, by taskIdentity. */
      tasks: string[];
      stopping: boolean;
      at: number;
      labels?: Record<string, string | number>;
    }
  | { type: 'RateLimitDefined'; key: string; limit: number; durationMs: number }
  /** Grants older than their span are forgotten, and dynamic keys with none left. */
  | { type: 'RateWindowsPruned'; at: number }
  | { type: 'WorkerLost'; workerId: string }
  | { type: 'WorkerForgotten'; workerId: string }
  | { type: 'QueueAdvanced'; priorityIndex: number; head: number };
