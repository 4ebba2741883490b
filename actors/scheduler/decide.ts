/**
 * The scheduler's decisions: which queued task run goes to which worker slot, and when. Both
 * decide functions only read the state; their events change it in place (README.md).
 */
import { assertNever } from '../actor.js';
import type { SchedulerEvent } from './events.js';
import type { SchedulerEffect, SchedulerMessage } from './messages.js';
import { heldId, taskIdentity, type QueuedTask } from './queued-task.js';
import { labelScore, limitOf, nextExpiry, RateTally, stickyWorkerOf } from './placement.js';
import {
  awaitsRequeueRecord,
  DEFAULT_DURABLE_SLOTS,
  freeSlots,
  GRANT_MARGIN_MS,
  PRIORITIES,
  type SchedulerState,
  type WorkerSlots,
} from './state.js';
import { dispatchUnackedId, scheduleTimedOutId, workerLostId } from '../ids.js';

/** How long a worker that refused a dispatch gets nothing more. */
export const REFUSAL_PAUSE_MS = 200;

/**
 * How long a requeued task run waits for its run to record why (`TaskRequeued`) before it is
 * dispatched anyway: the record takes milliseconds; this bounds a tell that was lost.
 */
export const REQUEUE_RECORD_WAIT_MS = 5_000;

export interface SchedulerDecision {
  events: SchedulerEvent[];
  effects: SchedulerEffect[];
  /** Pump again then: a rate-limit window frees units a waiting task run needs. */
  wakeAt?: number;
}

/** Free slots per worker, durable and other, and their totals. */
class FreeSlots {
  readonly regular = new Map<string, number>();
  readonly durable = new Map<string, number>();
  /** Free slots that queued entries could take: the pump stops looking once none are left. */
  total = 0;
  constructor(state: SchedulerState, now: number) {
    // Durable slots count only while durable entries exist: else a pump would walk the whole
    // queue of plain tasks with every durable slot free.
    const kinds = state.durableEntries > 0 ? [false, true] : [false];
    for (const w of state.workers.values()) {
      for (const durable of kinds) {
        const n = freeSlots(w, now, durable);
        if (n > 0) (durable ? this.durable : this.regular).set(w.id, n);
        this.total += Math.max(0, n);
      }
    }
  }
  of(durable: boolean | undefined) {
    return durable ? this.durable : this.regular;
  }
  take(workerId: string, durable: boolean | undefined) {
    const map = this.of(durable);
    map.set(workerId, (map.get(workerId) ?? 0) - 1);
    this.total--;
  }
}

/** Highest priority first, oldest first within one; each to the capable worker with most free slots. */
function pump(state: SchedulerState, now: number, out: SchedulerDecision) {
  const free = new FreeSlots(state, now);
  if (free.total === 0) return;
  const holding = now < state.holdRedeliveredUntil;
  const rates = new RateTally(state, now);
  /** Sticky runs whose first task run this pump placed. */
  const placedNow = new Map<string, string>();
  for (let p = PRIORITIES - 1; p >= 0 && free.total > 0; p--) {
    const queue = state.queues[p];
    let head = queue.head;
    let prefixConsumed = true;
    for (let i = queue.head; i < queue.keys.length && free.total > 0; i++) {
      const key = queue.keys[i];
      const entry = state.entries.get(key);
      const waiting = entry !== undefined && entry.workerId === undefined && !entry.finished;
      const ready = waiting && !(holding && entry.redelivered) && !awaitsRequeueRecord(entry, now);
      const dispatchable = ready && !rateLimited(state, entry.task, now, rates, out);
      const holder = dispatchable ? pinnedHolder(state, entry.task) : undefined;
      const worker =
        holder ??
        (dispatchable
          ? pickWorker(
              state,
              entry.task,
              free.of(entry.task.durable),
              stickyWorkerOf(state, entry.task, placedNow),
            )
          : undefined);
      if (waiting && worker) {
        if (!holder) free.take(worker.id, entry.task.durable);
        rates.grant(entry.task);
        if (entry.task.sticky && !stickyWorkerOf(state, entry.task, placedNow))
          placedNow.set(entry.task.runId, worker.id);
        out.events.push({ type: 'EntryDispatched', key, workerId: worker.id, at: now });
        out.effects.push({ type: 'dispatch', workerId: worker.id, task: entry.task });
      }
      if (waiting && !worker) prefixConsumed = false;
      if (prefixConsumed) head = i + 1;
    }
    if (head > queue.head) out.events.push({ type: 'QueueAdvanced', priorityIndex: p, head });
  }
}

/** A rate limit holds this task run back; the pump wakes again when its window frees units. */
function rateLimited(
  state: SchedulerState,
  task: QueuedTask,
  now: number,
  rates: RateTally,
  out: SchedulerDecision,
) {
  if (!task.rateLimits) return false;
  const blocking = rates.blocking(task);
  if (!blocking) return false;
  const l = limitOf(state, blocking);
  const at = l && nextExpiry(state.rateLimits.get(blocking.key), l.durationMs, now);
  // Units granted in this very pump leave the window one span from now.
  const wake =
    at ?? (l && rates.granted.has(blocking.key) ? now + l.durationMs + GRANT_MARGIN_MS : undefined);
  if (wake !== undefined && (out.wakeAt === undefined || wake < out.wakeAt)) out.wakeAt = wake;
  return true;
}

/** The worker that keeps this durable task in memory on a slot of its own, if any. */
function pinnedHolder(state: SchedulerState, task: QueuedTask): WorkerSlots | undefined {
  const w = task.preferredWorkerId ? state.workers.get(task.preferredWorkerId) : undefined;
  return w?.status === 'ACTIVE' && w.pinned.has(heldId(task)) ? w : undefined;
}

/**
 * The worker a durable task prefers (it may hold it in memory), else its sticky worker (a hard
 * sticky task waits for it), else among workers with every required label the best scored by
 * the other labels, then with most free slots.
 */
function pickWorker(
  state: SchedulerState,
  task: QueuedTask,
  free: Map<string, number>,
  stickyWorkerId: string | undefined,
): WorkerSlots | undefined {
  const identity = taskIdentity(task.workflowName, task.taskName);
  const fits = (w: WorkerSlots | undefined): w is WorkerSlots =>
    w !== undefined &&
    (free.get(w.id) ?? 0) > 0 &&
    w.tasks.has(identity) &&
    labelScore(w.labels, task.desiredLabels) !== undefined;
  const preferred = task.preferredWorkerId ? state.workers.get(task.preferredWorkerId) : undefined;
  if (fits(preferred)) return preferred;
  if (task.sticky && stickyWorkerId) {
    const sticky = state.workers.get(stickyWorkerId);
    if (fits(sticky)) return sticky;
    if (task.sticky.strategy === 'hard') return undefined;
  }
  let best: WorkerSlots | undefined;
  let bestScore = -1;
  let bestFree = 0;
  for (const [id, n] of free) {
    if (n <= 0) continue;
    const w = state.workers.get(id);
    if (!w || !w.tasks.has(identity)) continue;
    const score = task.desiredLabels ? labelScore(w.labels, task.desiredLabels) : 0;
    if (score === undefined) continue;
    if (score > bestScore || (score === bestScore && n > bestFree)) {
      best = w;
      bestScore = score;
      bestFree = n;
    }
  }
  return best;
}

function release(out: SchedulerDecision, key: string) {
  out.events.push({ type: 'EntryReleased', key });
  out.effects.push({ type: 'ack', key });
}

function requeueWorkerEntries(
  state: SchedulerState,
  worker: WorkerSlots,
  now: number,
  out: SchedulerDecision,
) {
  for (const key of worker.running) {
    const entry = state.entries.get(key);
    if (!entry) continue;
    requeue(out, entry, now, workerLostId(key, worker.id), worker.id);
  }
}

/**
 * Puts a task run back in the queue and tells its run why (it records `TaskRequeued`). The tell
 * goes through the run's inbox while a new worker's result would go straight to the run: so the
 * entry goes out again only once the run has recorded the requeue (`RequeueRecorded`).
 */
function requeue(
  out: SchedulerDecision,
  entry: { task: { key: string; runId: string; taskName: string } },
  now: number,
  messageId: string,
  workerId: string,
  /** Unset: the worker was lost (how messages read before causes were given). */
  cause?: 'unacknowledged',
) {
  const { key, runId, taskName } = entry.task;
  const untold = { workerId, until: now + REQUEUE_RECORD_WAIT_MS };
  out.events.push({ type: 'EntryRequeued', key, at: now, untold });
  out.effects.push({
    type: 'tellRun',
    runId,
    message: {
      type: 'WorkerLost',
      id: messageId,
      key,
      taskName,
      workerId,
      ...(cause && { cause }),
    },
  });
}

function onTick(state: SchedulerState, now: number, out: SchedulerDecision) {
  const { workerLostAfterMs, forgetWorkerAfterMs } = state.config;
  for (const worker of state.workers.values()) {
    const silentFor = now - worker.lastHeartbeatAt;
    if (worker.status !== 'LOST' && silentFor > workerLostAfterMs) {
      out.events.push({ type: 'WorkerLost', workerId: worker.id });
      requeueWorkerEntries(state, worker, now, out);
    } else if (worker.status === 'LOST' && silentFor > forgetWorkerAfterMs) {
      out.events.push({ type: 'WorkerForgotten', workerId: worker.id });
    }
  }
  for (const [key, entry] of state.entries) {
    if (entry.workerId !== undefined || entry.finished) continue;
    // Waiting for its run to record a requeue is not waiting for a worker.
    const since = entry.untold
      ? Math.max(entry.queuedSince, entry.untold.until)
      : entry.queuedSince;
    if (now - since <= entry.task.scheduleTimeoutMs) continue;
    release(out, key);
    out.effects.push({
      type: 'tellRun',
      runId: entry.task.runId,
      message: {
        type: 'ScheduleTimedOut',
        id: scheduleTimedOutId(key),
        key,
        taskName: entry.task.taskName,
      },
    });
  }
}

function onHeartbeat(
  state: SchedulerState,
  msg: Extract<SchedulerMessage, { type: 'Heartbeat' }>,
  now: number,
  out: SchedulerDecision,
) {
  const hb = msg.heartbeat;
  out.events.push({
    type: 'WorkerSeen',
    workerId: hb.workerId,
    name: hb.name,
    slots: hb.slots,
    durableSlots: hb.durableSlots ?? DEFAULT_DURABLE_SLOTS,
    pinned: hb.pinned ?? [],
    tasks: hb.serves.flatMap((d) => d.tasks.map((t) => taskIdentity(d.name, t))),
    stopping: hb.stopping,
    at: now,
    labels: hb.labels,
  });
  // A durable task run suspended on the worker is still its own until the run records the
  // wait (which ends the entry): dispatched again, its memo could run twice on a replay that
  // reads a history without it. Held like a running one; a lost worker's are requeued on tick.
  const held = new Set(hb.suspended ? [...hb.running, ...hb.suspended] : hb.running);
  for (const key of held) {
    const entry = state.entries.get(key);
    if (!entry || entry.finished || entry.workerId === hb.workerId) continue;
    // An entry a live worker holds stays its own: this one may be a worker taken for lost that
    // still runs it (at-least-once), and claiming it back would take it from its new holder,
    // which may hold it suspended.
    const holder = entry.workerId === undefined ? undefined : state.workers.get(entry.workerId);
    if (holder && holder.status !== 'LOST') continue;
    out.events.push({ type: 'EntryClaimed', key, workerId: hb.workerId, at: now });
  }
  const worker = state.workers.get(hb.workerId);
  if (!worker) return;
  for (const key of worker.running) {
    const entry = state.entries.get(key);
    const dispatchedAt = entry?.dispatchedAt ?? now;
    // Finished task runs leave through the journal; one the worker never got goes back in the
    // queue. Measured on the scheduler's clock: the worker's may differ.
    if (!entry || held.has(key) || now - dispatchedAt <= state.config.reconcileAfterMs) continue;
    const id = dispatchUnackedId(key, hb.workerId, dispatchedAt);
    requeue(out, entry, now, id, hb.workerId, 'unacknowledged');
  }
}

/** What one message changes; dispatching waits for the pump (`decideDispatches`). */
export function decideScheduler(
  state: SchedulerState,
  msg: SchedulerMessage,
  now: number,
): SchedulerDecision {
  const out: SchedulerDecision = { events: [], effects: [] };
  switch (msg.type) {
    case 'Enqueue':
      if (state.entries.has(msg.task.key)) return out;
      out.events.push({ type: 'EntryQueued', task: msg.task, redelivered: msg.redelivered });
      return out;
    case 'Heartbeat':
      onHeartbeat(state, msg, now, out);
      return out;
    case 'WorkerLeft': {
      const worker = state.workers.get(msg.workerId);
      if (!worker) return out;
      out.events.push({ type: 'WorkerLost', workerId: worker.id });
      requeueWorkerEntries(state, worker, now, out);
      return out;
    }
    case 'TaskDone':
      if (state.entries.has(msg.key)) release(out, msg.key);
      return out;
    case 'TaskFinished': {
      const entry = state.entries.get(msg.key);
      if (entry?.workerId === msg.workerId)
        out.events.push({ type: 'EntryFinished', key: msg.key });
      return out;
    }
    case 'DispatchRejected': {
      const entry = state.entries.get(msg.key);
      if (entry?.workerId !== msg.workerId) return out;
      out.events.push({ type: 'EntryRequeued', key: msg.key, at: now });
      out.events.push({
        type: 'WorkerPaused',
        workerId: msg.workerId,
        until: now + REFUSAL_PAUSE_MS,
      });
      return out;
    }
    case 'RequeueRecorded': {
      const entry = state.entries.get(msg.key);
      if (entry?.untold?.workerId === msg.workerId)
        out.events.push({ type: 'EntryRequeueRecorded', key: msg.key, at: now });
      return out;
    }
    case 'Abort': {
      const entry = state.entries.get(msg.key);
      if (!entry) return out;
      if (entry.workerId)
        out.effects.push({
          type: 'abortOnWorker',
          workerId: entry.workerId,
          key: msg.key,
          reason: msg.reason,
        });
      release(out, msg.key);
      return out;
    }
    case 'Tick':
      onTick(state, now, out);
      if (state.rateLimits.size > 0) out.events.push({ type: 'RateWindowsPruned', at: now });
      return out;
    case 'RateLimitDefined':
      out.events.push({ ...msg });
      return out;
    default:
      return assertNever(msg, 'scheduler message');
  }
}

/**
 * Dispatching depends on the state after this message's events, so the host applies them
 * first and then asks for the dispatches.
 */
export function decideDispatches(state: SchedulerState, now: number): SchedulerDecision {
  const out: SchedulerDecision = { events: [], effects: [] };
  pump(state, now, out);
  return out;
}
