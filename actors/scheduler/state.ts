/**
 * The scheduler's state: queued task runs and worker slots. It lives in memory only; the
 * journal keeps every entry unacknowledged until its task run is done, so a new scheduler
 * rebuilds the queue from redelivered entries and the assignments from worker heartbeats.
 * The scheduler is a mutable state machine, not a decider (README.md: it is the hot path, and
 * its state, never journaled, is never replayed): `evolveScheduler` updates this state in
 * place; `decideScheduler` and `decideDispatches` only read it.
 */
import { assertNever } from '../actor.js';
import type { QueuedTask } from './queued-task.js';
import type { SchedulerEvent } from './events.js';

export interface WorkerSlots {
  id: string;
  name: string;
  slots: number;
  durableSlots: number;
  /** The tasks it serves, by taskIdentity. */
  tasks: Set<string>;
  running: Set<string>;
  /** How many of `running` are durable tasks (they count against durableSlots). */
  durableRunning: number;
  /** Waiting durable tasks held in the worker's memory, each on a durable slot (see heldId). */
  pinned: Set<string>;
  lastHeartbeatAt: number;
  status: 'ACTIVE' | 'STOPPING' | 'LOST';
  /** After a refused dispatch, no more until then (the worker's slots are fuller than we knew). */
  pausedUntil: number;
  labels: Record<string, string | number>;
}

/** One rate-limit key: its upserted definition (static keys) and the units granted lately. */
export interface RateWindow {
  limit?: number;
  durationMs?: number;
  /** The longest span a dynamic key's uses gave (they bring their own). */
  spanMs?: number;
  /** Oldest first; pruned as they leave the longest span that applies. */
  grants: { at: number; units: number }[];
}

export interface Entry {
  task: QueuedTask;
  /** Arrival order: a requeued entry goes back to its place among the waiting ones. */
  seq: number;
  /** Since when it waits for a worker (its schedule timeout counts from here). */
  queuedSince: number;
  workerId?: string;
  dispatchedAt?: number;
  /** Delivered again after a scheduler change: it may be running on a worker already. */
  redelivered: boolean;
  /** The worker is done with it (its slot is free); the journal entry that ends it is on its way. */
  finished?: boolean;
  /**
   * Requeued from `workerId`, whose run has not recorded that yet: it waits until the run has
   * (or until `until`), so the run never records another worker's attempt before the requeue.
   */
  untold?: { workerId: string; until: number };
}

/** Waits for its run to record why it was requeued (see Entry.untold). */
export const awaitsRequeueRecord = (entry: Entry, now: number) =>
  entry.untold !== undefined && now < entry.untold.until;

export interface SchedulerConfig {
  /** A worker silent this long is lost and its task runs are queued again. */
  workerLostAfterMs: number;
  /** A lost worker is forgotten after this long. */
  forgetWorkerAfterMs: number;
  /** A dispatch this old that a heartbeat does not list never reached the worker: queue it again. */
  reconcileAfterMs: number;
}

export const defaultSchedulerConfig: SchedulerConfig = {
  workerLostAfterMs: 10_000,
  forgetWorkerAfterMs: 3_600_000,
  reconcileAfterMs: 5_000,
};

export interface SchedulerState {
  config: SchedulerConfig;
  /** Redelivered entries wait until then for a worker to claim them before being dispatched. */
  holdRedeliveredUntil: number;
  workers: Map<string, WorkerSlots>;
  entries: Map<string, Entry>;
  /** Queued keys per priority (index 0 = LOW), oldest first; keys before `head` are consumed,
   *  and stale keys (dispatched or released) are skipped lazily. */
  queues: { keys: string[]; head: number }[];
  nextSeq: number;
  /** How many entries are durable task runs: without any, durable slots need no looking at. */
  durableEntries: number;
  rateLimits: Map<string, RateWindow>;
  /** Sticky runs with live entries: where the scheduler sent the first, and how many are live. */
  stickyRuns: Map<string, { workerId?: string; entries: number }>;
}

export const PRIORITIES = 3;

export function initialSchedulerState(
  now: number,
  holdMs: number,
  config: SchedulerConfig = defaultSchedulerConfig,
): SchedulerState {
  return {
    config,
    holdRedeliveredUntil: now + holdMs,
    workers: new Map(),
    entries: new Map(),
    queues: Array.from({ length: PRIORITIES }, () => ({ keys: [], head: 0 })),
    nextSeq: 0,
    durableEntries: 0,
    rateLimits: new Map(),
    stickyRuns: new Map(),
  };
}

export const priorityIndex = (priority: number) =>
  Math.min(PRIORITIES, Math.max(1, Math.round(priority))) - 1;

export const DEFAULT_DURABLE_SLOTS = 1000;

/** How often a worker writes its record (its heartbeat) to the workers bucket. */
export const WORKER_HEARTBEAT_MS = 2000;

/** Free slots of a worker, for durable tasks or for the others. */
export function freeSlots(w: WorkerSlots, now: number, durable = false) {
  if (w.status !== 'ACTIVE' || now < w.pausedUntil) return 0;
  return durable
    ? w.durableSlots - w.durableRunning - w.pinned.size
    : w.slots - (w.running.size - w.durableRunning);
}

function unassign(state: SchedulerState, key: string) {
  const entry = state.entries.get(key);
  if (!entry?.workerId) return;
  const worker = state.workers.get(entry.workerId);
  if (worker?.running.delete(key) && entry.task.durable) worker.durableRunning--;
  entry.workerId = undefined;
  entry.dispatchedAt = undefined;
}

/**
 * A grant counts this much longer than its span: it is stamped when the pump decides, and the
 * task run reaches its worker a few milliseconds later (more under load), so a downstream API
 * would otherwise see a little more than `limit` in some span.
 */
export const GRANT_MARGIN_MS = 50;

/** Keeps a window's grants that may still count. */
function prune(window: RateWindow, now: number) {
  const durationMs = Math.max(window.durationMs ?? 0, window.spanMs ?? 0) + GRANT_MARGIN_MS;
  const keep = window.grants.findIndex((g) => g.at > now - durationMs);
  window.grants = keep === -1 ? [] : window.grants.slice(keep);
}

function spend(state: SchedulerState, task: QueuedTask, at: number) {
  for (const use of task.rateLimits ?? []) {
    let window = state.rateLimits.get(use.key);
    if (!window) state.rateLimits.set(use.key, (window = { grants: [] }));
    if (use.durationMs !== undefined) window.spanMs = Math.max(window.spanMs ?? 0, use.durationMs);
    if (window.grants.length > 64) prune(window, at);
    window.grants.push({ at, units: use.units });
  }
}

function assign(state: SchedulerState, key: string, workerId: string, at: number) {
  const entry = state.entries.get(key);
  if (!entry) return;
  const run = entry.task.sticky && state.stickyRuns.get(entry.task.runId);
  if (run && !run.workerId) run.workerId = entry.task.sticky!.workerId ?? workerId;
  unassign(state, key);
  entry.workerId = workerId;
  entry.dispatchedAt = at;
  entry.redelivered = false;
  const worker = state.workers.get(workerId);
  if (worker && !worker.running.has(key)) {
    worker.running.add(key);
    if (entry.task.durable) worker.durableRunning++;
  }
}

/** Puts `key` back among the waiting keys in arrival order, leaving no other copy of it behind. */
function requeueInOrder(
  state: SchedulerState,
  queue: SchedulerState['queues'][number],
  key: string,
  seq: number,
) {
  const rest = queue.keys.slice(queue.head).filter((k) => k !== key);
  let at = rest.findIndex((k) => {
    const other = state.entries.get(k);
    return other !== undefined && other.seq > seq;
  });
  if (at === -1) at = rest.length;
  rest.splice(at, 0, key);
  queue.keys = rest;
  queue.head = 0;
}

/** Applies `event` to `state` in place (the one place that changes it), and returns it. */
export function evolveScheduler(state: SchedulerState, event: SchedulerEvent): SchedulerState {
  switch (event.type) {
    case 'EntryQueued': {
      const known = state.entries.get(event.task.key);
      if (known) return state;
      state.entries.set(event.task.key, {
        task: event.task,
        seq: state.nextSeq++,
        queuedSince: event.task.enqueuedAt,
        redelivered: event.redelivered,
      });
      state.queues[priorityIndex(event.task.priority)].keys.push(event.task.key);
      if (event.task.durable) state.durableEntries++;
      if (event.task.sticky) {
        const run = state.stickyRuns.get(event.task.runId);
        if (run) run.entries++;
        else state.stickyRuns.set(event.task.runId, { entries: 1 });
      }
      return state;
    }
    case 'EntryDispatched': {
      const entry = state.entries.get(event.key);
      if (entry) spend(state, entry.task, event.at);
      assign(state, event.key, event.workerId, event.at);
      return state;
    }
    case 'EntryClaimed': {
      // A new leader's windows start empty: what already runs counts as started now.
      const entry = state.entries.get(event.key);
      if (entry?.redelivered) spend(state, entry.task, event.at);
      assign(state, event.key, event.workerId, event.at);
      return state;
    }
    case 'RateLimitDefined': {
      const window = state.rateLimits.get(event.key);
      if (window) Object.assign(window, { limit: event.limit, durationMs: event.durationMs });
      else
        state.rateLimits.set(event.key, {
          limit: event.limit,
          durationMs: event.durationMs,
          grants: [],
        });
      return state;
    }
    case 'RateWindowsPruned':
      for (const [key, window] of state.rateLimits) {
        prune(window, event.at);
        if (window.grants.length === 0 && window.limit === undefined) state.rateLimits.delete(key);
      }
      return state;
    case 'WorkerPaused': {
      const worker = state.workers.get(event.workerId);
      if (worker) worker.pausedUntil = event.until;
      return state;
    }
    case 'EntryRequeued': {
      const entry = state.entries.get(event.key);
      if (!entry) return state;
      unassign(state, event.key);
      entry.redelivered = false;
      entry.queuedSince = event.at;
      entry.untold = event.untold;
      requeueInOrder(state, state.queues[priorityIndex(entry.task.priority)], event.key, entry.seq);
      return state;
    }
    case 'EntryRequeueRecorded': {
      const entry = state.entries.get(event.key);
      if (!entry?.untold) return state;
      entry.untold = undefined;
      entry.queuedSince = event.at;
      return state;
    }
    case 'EntryFinished': {
      const entry = state.entries.get(event.key);
      if (!entry) return state;
      unassign(state, event.key);
      entry.finished = true;
      return state;
    }
    case 'EntryReleased': {
      const task = state.entries.get(event.key)?.task;
      const run = task?.sticky && state.stickyRuns.get(task.runId);
      if (run && --run.entries <= 0) state.stickyRuns.delete(task.runId);
      if (task?.durable) state.durableEntries--;
      unassign(state, event.key);
      state.entries.delete(event.key);
      return state;
    }
    case 'WorkerSeen': {
      const known = state.workers.get(event.workerId);
      if (known) {
        known.slots = event.slots;
        known.durableSlots = event.durableSlots;
        known.pinned = new Set(event.pinned);
        known.tasks = new Set(event.tasks);
        known.lastHeartbeatAt = event.at;
        known.labels = event.labels ?? {};
        known.status = event.stopping ? 'STOPPING' : 'ACTIVE';
      } else {
        state.workers.set(event.workerId, {
          id: event.workerId,
          name: event.name,
          slots: event.slots,
          durableSlots: event.durableSlots,
          tasks: new Set(event.tasks),
          running: new Set(),
          durableRunning: 0,
          pinned: new Set(event.pinned),
          lastHeartbeatAt: event.at,
          status: event.stopping ? 'STOPPING' : 'ACTIVE',
          pausedUntil: 0,
          labels: event.labels ?? {},
        });
      }
      return state;
    }
    case 'WorkerLost': {
      const worker = state.workers.get(event.workerId);
      if (worker) worker.status = 'LOST';
      return state;
    }
    case 'WorkerForgotten':
      state.workers.delete(event.workerId);
      return state;
    case 'QueueAdvanced': {
      const queue = state.queues[event.priorityIndex];
      queue.head = Math.max(queue.head, event.head);
      if (queue.head > 1024 && queue.head * 2 > queue.keys.length) {
        queue.keys = queue.keys.slice(queue.head);
        queue.head = 0;
      }
      return state;
    }
    default:
      return assertNever(event, 'scheduler event');
  }
}
