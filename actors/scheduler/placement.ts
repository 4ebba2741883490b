/**
 * Where a queued task run may go and when: worker labels, sticky workers and rate-limit
 * windows. Pure reads of the scheduler's state; `decide.ts` places, `waitingFor` explains.
 */
import {
  taskIdentity,
  type LabelComparator,
  type LabelWish,
  type QueuedTask,
  type RateLimitUse,
} from './queued-task.js';
import {
  awaitsRequeueRecord,
  GRANT_MARGIN_MS,
  type Entry,
  type RateWindow,
  type SchedulerState,
  type WorkerSlots,
} from './state.js';

export type Labels = Record<string, string | number>;

export const DEFAULT_LABEL_WEIGHT = 100;

function compare(have: string | number, want: string | number): number {
  const a = Number(have);
  const b = Number(want);
  if (have !== '' && want !== '' && Number.isFinite(a) && Number.isFinite(b)) return a - b;
  return String(have) < String(want) ? -1 : String(have) > String(want) ? 1 : 0;
}

/** Whether a worker's label value satisfies a wish: the worker's value `comparator` the wanted one. */
export function labelMatches(have: string | number | undefined, wish: LabelWish): boolean {
  if (have === undefined) return false;
  const c = compare(have, wish.value);
  switch (wish.comparator ?? 'EQUAL') {
    case 'EQUAL':
      return c === 0;
    case 'NOT_EQUAL':
      return c !== 0;
    case 'GREATER_THAN':
      return c > 0;
    case 'GREATER_THAN_OR_EQUAL':
      return c >= 0;
    case 'LESS_THAN':
      return c < 0;
    case 'LESS_THAN_OR_EQUAL':
      return c <= 0;
  }
}

/** The worker has every required label; its score is the weight of the other labels it matches. */
export function labelScore(
  labels: Labels,
  wishes: QueuedTask['desiredLabels'],
): number | undefined {
  let score = 0;
  for (const [name, wish] of Object.entries(wishes ?? {})) {
    const ok = labelMatches(labels[name], wish);
    if (wish.required && !ok) return undefined;
    if (!wish.required && ok) score += wish.weight ?? DEFAULT_LABEL_WEIGHT;
  }
  return score;
}

const SYMBOL: Record<LabelComparator, string> = {
  EQUAL: '=',
  NOT_EQUAL: '!=',
  GREATER_THAN: '>',
  GREATER_THAN_OR_EQUAL: '>=',
  LESS_THAN: '<',
  LESS_THAN_OR_EQUAL: '<=',
};

function describeLabels(wishes: Record<string, LabelWish>) {
  return Object.entries(wishes)
    .filter(([, w]) => w.required)
    .map(([name, w]) => `${name}${SYMBOL[w.comparator ?? 'EQUAL']}${w.value}`)
    .join(', ');
}

// ---- Rate limits: at most `limit` units in any span of `durationMs` ----

/** The limit and span that apply to one use: a dynamic key's own, else the upserted definition. */
export function limitOf(state: SchedulerState, use: RateLimitUse) {
  const window = state.rateLimits.get(use.key);
  const limit = use.limit ?? window?.limit;
  const durationMs = use.durationMs ?? window?.durationMs;
  return limit === undefined || durationMs === undefined ? undefined : { limit, durationMs };
}

/** Units granted in the span of `durationMs` that ends at `now`. */
export function unitsInWindow(window: RateWindow | undefined, durationMs: number, now: number) {
  let used = 0;
  const grants = window?.grants ?? [];
  const since = now - durationMs - GRANT_MARGIN_MS;
  for (let i = grants.length - 1; i >= 0 && grants[i].at > since; i--) used += grants[i].units;
  return used;
}

/** When the oldest grant in the span ending at `now` leaves it (the window frees some units). */
export function nextExpiry(window: RateWindow | undefined, durationMs: number, now: number) {
  const live = window?.grants.find((g) => g.at > now - durationMs - GRANT_MARGIN_MS);
  return live ? live.at + durationMs + GRANT_MARGIN_MS : undefined;
}

/** An upserted rate limit and its window at some moment (what `skein.rateLimits.list` shows). */
export interface RateLimitNow {
  key: string;
  limit: number;
  durationMs: number;
  used: number;
  windowEndsAt: number | null;
}

/** The upserted rate limits, by key, with the units used in the span ending at `now`. */
export function rateLimitsAt(state: SchedulerState, now: number): RateLimitNow[] {
  const out: RateLimitNow[] = [];
  for (const [key, window] of state.rateLimits) {
    const { limit, durationMs } = window;
    if (limit === undefined || durationMs === undefined) continue;
    const used = unitsInWindow(window, durationMs, now);
    const windowEndsAt = used > 0 ? (nextExpiry(window, durationMs, now) ?? null) : null;
    out.push({ key, limit, durationMs, used, windowEndsAt });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What one pump knows of the windows: units counted once per key, plus what it granted. */
export class RateTally {
  private readonly used = new Map<string, number>();
  readonly granted = new Map<string, number>();
  constructor(
    private readonly state: SchedulerState,
    private readonly now: number,
  ) {}

  /** The first rate limit that does not allow this task run to start now, if any. */
  blocking(task: QueuedTask): RateLimitUse | undefined {
    for (const use of task.rateLimits ?? []) {
      const l = limitOf(this.state, use);
      if (!l) return use;
      const id = `${use.key}\u0000${l.durationMs}`;
      let used = this.used.get(id);
      if (used === undefined) {
        used = unitsInWindow(this.state.rateLimits.get(use.key), l.durationMs, this.now);
        this.used.set(id, used);
      }
      if (used + (this.granted.get(use.key) ?? 0) + use.units > l.limit) return use;
    }
    return undefined;
  }

  grant(task: QueuedTask) {
    for (const use of task.rateLimits ?? [])
      this.granted.set(use.key, (this.granted.get(use.key) ?? 0) + use.units);
  }
}

const PERIODS: [number, string][] = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];

function per(durationMs: number) {
  const named = PERIODS.find(([ms]) => ms === durationMs);
  return named ? named[1] : `${durationMs}ms`;
}

function describeLimit(state: SchedulerState, use: RateLimitUse): string {
  const l = limitOf(state, use);
  if (!l) return `rate limit '${use.key}' (not defined: call skein.rateLimits.upsert)`;
  const what = `rate limit '${use.key}' (${l.limit} per ${per(l.durationMs)})`;
  return use.units > l.limit ? `${what}, which can never grant ${use.units} units` : what;
}

/** The worker a sticky task run should go to, if its run has one yet. */
export function stickyWorkerOf(
  state: SchedulerState,
  task: QueuedTask,
  placedNow?: Map<string, string>,
): string | undefined {
  if (!task.sticky) return undefined;
  return (
    task.sticky.workerId ?? placedNow?.get(task.runId) ?? state.stickyRuns.get(task.runId)?.workerId
  );
}

// ---- Why a queued entry still waits (shown by runs.get) ----

const serves = (w: WorkerSlots, task: QueuedTask) =>
  w.status === 'ACTIVE' && w.tasks.has(taskIdentity(task.workflowName, task.taskName));

/** A standalone task by its name, a workflow's task by both names. */
const describeTask = (task: QueuedTask) =>
  task.workflowName === task.taskName
    ? `'${task.taskName}'`
    : `task '${task.taskName}' of '${task.workflowName}'`;

export function waitingFor(state: SchedulerState, entry: Entry, now: number): string | undefined {
  if (entry.workerId !== undefined || entry.finished) return undefined;
  const task = entry.task;
  if (entry.redelivered && now < state.holdRedeliveredUntil)
    return 'the scheduler to take over (a new leader is rebuilding its queue)';
  if (awaitsRequeueRecord(entry, now))
    return `its run to record why it left worker ${entry.untold!.workerId}`;
  const limited = new RateTally(state, now).blocking(task);
  if (limited) return describeLimit(state, limited);
  const capable = [...state.workers.values()].filter((w) => serves(w, task));
  if (capable.length === 0) return `a worker that serves ${describeTask(task)}`;
  const sticky = stickyWorkerOf(state, task);
  if (task.sticky?.strategy === 'hard' && sticky) {
    const w = state.workers.get(sticky);
    const gone = !w || w.status === 'LOST';
    return `worker ${sticky} (sticky: hard${gone ? '; it is lost, so the task ends at its schedule timeout unless it returns' : ''})`;
  }
  const wishes = task.desiredLabels ?? {};
  if (!capable.some((w) => labelScore(w.labels, wishes) !== undefined))
    return `a worker with labels ${describeLabels(wishes)} (required)`;
  return task.durable ? 'a free durable slot' : 'a free slot';
}
