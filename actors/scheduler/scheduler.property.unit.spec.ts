/**
 * Random interleavings of queue entries and worker news, with the scheduler's promises
 * checked after every step. Seeded, so a failure names the seed that reproduces it.
 */
import { describe, expect, it, vi } from 'vitest';
import { schedulerTurn, type SchedulerTurn } from '../testing/scheduler-spec.js';
import { mulberry32 } from '../testing/random.js';
import type { SchedulerMessage } from './messages.js';
import { labelScore } from './placement.js';
import { taskIdentity, type QueuedTask } from './queued-task.js';
import {
  awaitsRequeueRecord,
  freeSlots,
  GRANT_MARGIN_MS,
  initialSchedulerState,
  priorityIndex,
  type SchedulerState,
} from './state.js';

// PROPERTY_SEEDS=2000 explores further than CI does.
const SEEDS = Number(process.env.PROPERTY_SEEDS ?? 200);
// Each property walks every seed: 10-20 ms a seed on a busy 2-core box.
vi.setConfig({ testTimeout: Math.max(30_000, SEEDS * 60) });
const STEPS = 300;
const WORKERS = ['w1', 'w2', 'w3'];
/** Task names, repeated across two workflows: a task is placed by both names. */
const NAMES = ['a', 'b'];
const WORKFLOWS = ['wf', 'other'];
/** The workflows each worker serves (fixed, so the random draws stay those of the seed). */
const SERVES: Record<string, string[]> = { w1: ['wf'], w2: ['other'], w3: WORKFLOWS };
/** Static rate-limit keys (upserted at random) and one dynamic key with its own limit. */
const STATIC_LIMITS = ['r1', 'r2'];
const DYNAMIC = { key: 'dyn', limit: 2, durationMs: 700 };

type Invariant =
  | 'slots'
  | 'capable'
  | 'assignment'
  | 'noLoss'
  | 'priority'
  | 'noDoubleDispatch'
  | 'ageOrder'
  | 'rateLimit'
  | 'requiredLabels'
  | 'hardSticky'
  | 'suspendedKept';

interface Simulation {
  state: SchedulerState;
  now: number;
  /** What each worker really holds: what it was sent, less what ended, was refused or aborted. */
  held: Map<string, Set<string>>;
  /** Durable task runs a worker holds suspended on a wait its run has not recorded yet. */
  suspended: Map<string, Set<string>>;
  durable: Set<string>;
  /** A key dispatched while a live worker held it suspended. */
  suspendedDispatched?: string;
  /** Keys enqueued and not yet acknowledged. */
  live: Set<string>;
  /** Enqueue order of every key. */
  order: Map<string, number>;
  /** Every dispatch's units per rate-limit key, with when. */
  grants: Map<string, { at: number; units: number }[]>;
  /** The upserted definitions, as the scheduler was told them. */
  limits: Map<string, { limit: number; durationMs: number }>;
  /** Sticky runs with live entries: the worker their first task run went to. */
  runWorker: Map<string, string>;
  runOf: Map<string, string>;
  /** Requeues told to their runs and not yet recorded there: key -> the worker it left. */
  untold: Map<string, string>;
}

/** Placement constraints at random: most task runs have none. */
function randomPlacement(rnd: () => number, pick: <T>(xs: T[]) => T): Partial<QueuedTask> {
  const p: Partial<QueuedTask> = {};
  const r = rnd();
  if (r < 0.15) p.rateLimits = [{ key: pick(STATIC_LIMITS), units: 1 + Math.floor(rnd() * 2) }];
  else if (r < 0.25) p.rateLimits = [{ ...DYNAMIC, units: 1 }];
  if (rnd() < 0.2)
    p.desiredLabels = {
      gpu: { value: pick(['a100', 'h100']), required: rnd() < 0.5, weight: 10 },
      memory: { value: 32, comparator: 'GREATER_THAN_OR_EQUAL', weight: 5 },
    };
  // Half know their run's worker; the others share a few runs and follow the run's first placement.
  if (rnd() < 0.15)
    p.sticky = {
      strategy: rnd() < 0.5 ? 'hard' : 'soft',
      ...(rnd() < 0.5 && { workerId: pick(WORKERS) }),
    };
  if (rnd() < 0.15) p.durable = true;
  return p;
}

const plain = (t: QueuedTask) => !t.rateLimits && !t.desiredLabels && !t.sticky && !t.durable;

function randomMessage(sim: Simulation, rnd: () => number): SchedulerMessage {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const heldPairs = [...sim.held].flatMap(([w, keys]) => [...keys].map((key) => ({ w, key })));
  // The run records a requeue it was told of (the journal tail reads its TaskRequeued), mostly soon.
  if (sim.untold.size > 0 && rnd() < 0.5) {
    const [key, workerId] = pick([...sim.untold]);
    sim.untold.delete(key);
    return { type: 'RequeueRecorded', key, workerId };
  }
  const r = rnd();
  if (r < 0.3) {
    const key = `k${sim.order.size}`;
    sim.order.set(key, sim.order.size);
    sim.live.add(key);
    const message: SchedulerMessage = {
      type: 'Enqueue',
      redelivered: false,
      task: {
        key,
        runId: `run-${key}`,
        workflowName: WORKFLOWS[sim.order.size % WORKFLOWS.length],
        taskName: pick(NAMES),
        attempt: 1,
        maxAttempts: 1,
        priority: 1 + Math.floor(rnd() * 3),
        enqueuedAt: sim.now,
        scheduleTimeoutMs: 2_000 + Math.floor(rnd() * 20_000),
        executionTimeoutMs: 10_000,
        input: null,
        additionalMetadata: {},
        ...randomPlacement(rnd, pick),
      },
    };
    const { task } = message;
    if (task.durable) sim.durable.add(key);
    if (task.sticky && !task.sticky.workerId) task.runId = pick(['s1', 's2', 's3', 's4']);
    sim.runOf.set(key, task.runId);
    return message;
  }
  if (r < 0.33) {
    const key = pick(STATIC_LIMITS);
    const def = { limit: 1 + Math.floor(rnd() * 4), durationMs: 200 + Math.floor(rnd() * 2_000) };
    // A window keeps the grants of its span and may forget older ones on any tick (state.ts
    // `prune`), so a new definition counts what the old one still counted: a longer duration
    // does not reach back past the old one (API.md "Rate limits"). Counting every grant would
    // need each kept for the longest span a key might be given later (a day), unbounded.
    const old = sim.limits.get(key);
    const grants = sim.grants.get(key);
    if (old && grants) {
      const counted = (g: { at: number }) => g.at > sim.now - old.durationMs - GRANT_MARGIN_MS;
      sim.grants.set(key, grants.filter(counted));
    }
    sim.limits.set(key, def);
    return { type: 'RateLimitDefined', key, ...def };
  }
  if (r < 0.5) {
    const workerId = pick(WORKERS);
    // Its code reached a durable wait: the task run leaves `running` for `suspended`.
    const suspendable = [...sim.held.get(workerId)!].filter(
      (k) => sim.durable.has(k) && sim.state.entries.get(k)?.workerId === workerId,
    );
    if (suspendable.length > 0 && rnd() < 0.5) {
      const key = pick(suspendable);
      sim.held.get(workerId)!.delete(key);
      sim.suspended.get(workerId)!.add(key);
    }
    const drawn = NAMES.filter(() => rnd() < 0.7);
    const tasks = drawn.length > 0 ? drawn : [pick(NAMES)];
    return {
      type: 'Heartbeat',
      heartbeat: {
        workerId,
        name: workerId,
        slots: Math.floor(rnd() * 6),
        durableSlots: Math.floor(rnd() * 3),
        labels: { gpu: pick(['a100', 'h100', 'none']), memory: pick([16, 32, 64]) },
        serves: SERVES[workerId].map((name) => ({ name, tasks })),
        running: [...sim.held.get(workerId)!],
        suspended: [...sim.suspended.get(workerId)!],
        stopping: rnd() < 0.05,
        sentAt: sim.now,
      },
    };
  }
  const donePairs = [
    ...heldPairs,
    ...[...sim.suspended].flatMap(([w, keys]) => [...keys].map((key) => ({ w, key }))),
  ];
  if (r < 0.65 && donePairs.length > 0) {
    const { key } = pick(donePairs);
    for (const keys of [...sim.held.values(), ...sim.suspended.values()]) keys.delete(key);
    return { type: 'TaskDone', key };
  }
  if (r < 0.73 && heldPairs.length > 0) {
    const { w, key } = pick(heldPairs);
    sim.held.get(w)!.delete(key);
    return { type: 'DispatchRejected', key, workerId: w };
  }
  if (r < 0.77) {
    const workerId = pick(WORKERS);
    sim.held.get(workerId)!.clear();
    sim.suspended.get(workerId)!.clear();
    return { type: 'WorkerLeft', workerId };
  }
  if (r < 0.8 && sim.live.size > 0)
    return { type: 'Abort', key: pick([...sim.live]), reason: 'cancelled' };
  sim.now += Math.floor(rnd() * 3_000);
  return { type: 'Tick' };
}

/** The state just before the pump, to judge what it dispatched. */
interface BeforePump {
  free: Map<string, number>;
  durableFree: Map<string, number>;
  waiting: Set<string>;
}

function violations(
  sim: Simulation,
  turn: SchedulerTurn,
  before: BeforePump,
): Partial<Record<Invariant, string>> {
  const { state } = sim;
  const found: Partial<Record<Invariant, string>> = {};
  const dispatches = turn.pumped.effects.flatMap((e) => (e.type === 'dispatch' ? [e] : []));
  for (const durable of [false, true]) {
    const perWorker = new Map<string, number>();
    // A resumed durable task goes back to the worker that holds it on a slot of its own.
    for (const d of dispatches)
      if (!!d.task.durable === durable && !d.task.preferredWorkerId)
        perWorker.set(d.workerId, (perWorker.get(d.workerId) ?? 0) + 1);
    const free = durable ? before.durableFree : before.free;
    for (const [w, n] of perWorker) {
      const worker = state.workers.get(w);
      const used =
        worker && (durable ? worker.durableRunning : worker.running.size - worker.durableRunning);
      const cap = worker && (durable ? worker.durableSlots - worker.pinned.size : worker.slots);
      if (n > (free.get(w) ?? 0) || !worker || used! > cap!)
        found.slots = `${n} ${durable ? 'durable ' : ''}dispatched to ${w} with ${free.get(w) ?? 0} free slots`;
    }
  }
  const { runWorker } = sim;
  for (const d of dispatches) {
    const worker = state.workers.get(d.workerId);
    if (worker && labelScore(worker.labels, d.task.desiredLabels) === undefined)
      found.requiredLabels = `${d.task.key} wants ${JSON.stringify(d.task.desiredLabels)}, sent to ${d.workerId} with ${JSON.stringify(worker.labels)}`;
    const sticky = d.task.sticky && (d.task.sticky.workerId ?? runWorker.get(d.task.runId));
    if (d.task.sticky?.strategy === 'hard' && sticky && sticky !== d.workerId)
      found.hardSticky = `${d.task.key} is hard-sticky to ${sticky}, sent to ${d.workerId}`;
    if (d.task.sticky && !d.task.sticky.workerId && !runWorker.has(d.task.runId))
      runWorker.set(d.task.runId, d.workerId);
    for (const use of d.task.rateLimits ?? []) {
      const def =
        use.limit !== undefined
          ? { limit: use.limit, durationMs: use.durationMs! }
          : sim.limits.get(use.key);
      if (!def) {
        found.rateLimit = `${d.task.key} spent undefined rate limit ${use.key}`;
        continue;
      }
      const grants = sim.grants.get(use.key) ?? [];
      const used = grants
        .filter((g) => g.at > sim.now - def.durationMs - GRANT_MARGIN_MS)
        .reduce((n, g) => n + g.units, 0);
      if (used > def.limit)
        found.rateLimit = `${used} units of ${use.key} in ${def.durationMs} ms (+ margin), limit ${def.limit}`;
    }
  }
  for (const d of dispatches) {
    const identity = taskIdentity(d.task.workflowName, d.task.taskName);
    if (!state.workers.get(d.workerId)?.tasks.has(identity))
      found.capable = `${d.task.key} sent to ${d.workerId}`;
  }
  if (sim.suspendedDispatched) found.suspendedKept = sim.suspendedDispatched;
  const keys = dispatches.map((d) => d.task.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i || !before.waiting.has(k));
  if (twice)
    found.noDoubleDispatch = `${twice} dispatched while already on a worker (dispatches: ${keys.join(' ')})`;
  for (const [key, entry] of state.entries) {
    if (entry.workerId && !state.workers.get(entry.workerId)?.running.has(key))
      found.assignment = `${key} not in ${entry.workerId}'s slots`;
  }
  for (const w of state.workers.values()) {
    for (const key of w.running) {
      if (state.entries.get(key)?.workerId !== w.id)
        found.assignment = `${w.id} holds ${key}, assigned to ${state.entries.get(key)?.workerId}`;
    }
  }
  const entryKeys = [...state.entries.keys()].sort();
  if (entryKeys.join() !== [...sim.live].sort().join())
    found.noLoss = `entries ${entryKeys.join()} != live ${[...sim.live].sort().join()}`;
  const waiting = [...state.entries.values()].filter((e) => e.workerId === undefined);
  // Only unconstrained task runs promise priority and age order (a limited one waits aside, and
  // so does one waiting for its run to record why it was requeued).
  const waitingPlain = waiting
    .filter((e) => !awaitsRequeueRecord(e, sim.now))
    .map((e) => e.task)
    .filter(plain);
  for (const { task: t } of waiting) {
    const queue = state.queues[priorityIndex(t.priority)];
    if (!queue.keys.slice(queue.head).includes(t.key))
      found.noLoss = `${t.key} waits but is out of its queue`;
  }
  for (const d of dispatches) {
    const p = priorityIndex(d.task.priority);
    if (!plain(d.task)) continue;
    const sameName = waitingPlain.filter(
      (t) => t.taskName === d.task.taskName && t.workflowName === d.task.workflowName,
    );
    const higher = sameName.find((t) => priorityIndex(t.priority) > p);
    if (higher)
      found.priority = `${d.task.key} (p${d.task.priority}) dispatched while ${higher.key} (p${higher.priority}) waits`;
    const older = sameName.find(
      (t) => priorityIndex(t.priority) === p && sim.order.get(t.key)! < sim.order.get(d.task.key)!,
    );
    if (older)
      found.ageOrder = `${d.task.key} dispatched while older ${older.key} of the same priority waits`;
  }
  return found;
}

/** Runs every seed; returns the first violation of one of `checked`, with its seed. */
function explore(checked: Invariant[]): { failure?: string; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rnd = mulberry32(seed);
    const sim: Simulation = {
      state: initialSchedulerState(0, 0, {
        workerLostAfterMs: 10_000,
        forgetWorkerAfterMs: 60_000,
        reconcileAfterMs: 5_000,
      }),
      now: 0,
      held: new Map(WORKERS.map((w) => [w, new Set<string>()])),
      suspended: new Map(WORKERS.map((w) => [w, new Set<string>()])),
      durable: new Set(),
      live: new Set(),
      order: new Map(),
      grants: new Map(),
      limits: new Map(),
      runWorker: new Map(),
      runOf: new Map(),
      untold: new Map(),
    };
    const trail: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      sim.now += Math.floor(rnd() * 50);
      const message = randomMessage(sim, rnd);
      trail.push(`${sim.now} ${JSON.stringify(message).slice(0, 160)}`);
      let before: BeforePump = { free: new Map(), durableFree: new Map(), waiting: new Set() };
      const turn = schedulerTurn(sim.state, message, sim.now, (s) => {
        before = {
          free: new Map([...s.workers.values()].map((w) => [w.id, freeSlots(w, sim.now)])),
          durableFree: new Map(
            [...s.workers.values()].map((w) => [w.id, freeSlots(w, sim.now, true)]),
          ),
          waiting: new Set(
            [...s.entries].filter(([, e]) => e.workerId === undefined).map(([k]) => k),
          ),
        };
      });
      counts[message.type] = (counts[message.type] ?? 0) + 1;
      if (message.type === 'Heartbeat')
        for (const key of message.heartbeat.suspended ?? []) {
          // Suspended past the reconcile window: where a key used to be taken for lost.
          const since = sim.state.entries.get(key)?.dispatchedAt ?? sim.now;
          const name = sim.now - since > 5_000 ? 'suspendedPastWindow' : 'suspended';
          counts[name] = (counts[name] ?? 0) + 1;
        }
      for (const effect of turn.effects) {
        const name = effect.type === 'tellRun' ? `tellRun:${effect.message.type}` : effect.type;
        counts[name] = (counts[name] ?? 0) + 1;
        // A lost worker is taken for dead: what it held suspended is no longer its own.
        if (effect.type === 'tellRun' && effect.message.type === 'WorkerLost') {
          sim.suspended.get(String(effect.message.workerId))!.delete(String(effect.message.key));
          sim.untold.set(String(effect.message.key), String(effect.message.workerId));
        }
        if (effect.type === 'dispatch') {
          const holder = [...sim.suspended].find(([, keys]) => keys.has(effect.task.key));
          if (holder)
            sim.suspendedDispatched = `${effect.task.key} sent to ${effect.workerId} while ${holder[0]} holds it suspended`;
          sim.held.get(effect.workerId)!.add(effect.task.key);
          for (const use of effect.task.rateLimits ?? []) {
            const grants = sim.grants.get(use.key) ?? [];
            grants.push({ at: sim.now, units: use.units });
            sim.grants.set(use.key, grants);
          }
          counts[`placed:${placement(effect.task)}`] =
            (counts[`placed:${placement(effect.task)}`] ?? 0) + 1;
        }
        if (effect.type === 'abortOnWorker') sim.held.get(effect.workerId)!.delete(effect.key);
        if (effect.type === 'ack') sim.live.delete(effect.key);
      }
      const found = violations(sim, turn, before);
      const liveRuns = new Set([...sim.live].map((k) => sim.runOf.get(k)));
      for (const run of sim.runWorker.keys()) if (!liveRuns.has(run)) sim.runWorker.delete(run);
      const broken = checked.find((name) => found[name]);
      if (broken) {
        const failure = `seed ${seed}, step ${step}: ${broken}: ${found[broken]}\nlast steps:\n  ${trail.slice(-8).join('\n  ')}`;
        return { failure, counts };
      }
    }
  }
  return { counts };
}

const placement = (t: QueuedTask) =>
  t.rateLimits
    ? 'rateLimited'
    : t.sticky
      ? `sticky-${t.sticky.strategy}`
      : t.desiredLabels
        ? 'labelled'
        : t.durable
          ? 'durable'
          : 'plain';

describe(`scheduler properties (${SEEDS} seeds × ${STEPS} random steps)`, () => {
  it('never overfills a worker, sends only what it serves, keeps assignments one-to-one, loses nothing, and honours priority', () => {
    const { failure, counts } = explore(['slots', 'capable', 'assignment', 'noLoss', 'priority']);
    expect(failure).toBeUndefined();
    // the random runs must have exercised every path the invariants speak about
    for (const seen of [
      'dispatch',
      'ack',
      'abortOnWorker',
      'tellRun:WorkerLost',
      'tellRun:ScheduleTimedOut',
      'DispatchRejected',
      'WorkerLeft',
      'RequeueRecorded',
      'RateLimitDefined',
      'placed:plain',
      'placed:rateLimited',
      'placed:labelled',
      'placed:durable',
    ])
      expect(counts[seen] ?? 0, seen).toBeGreaterThan(50);
  });

  it('never exceeds a rate limit window, never violates required labels, never sends a hard-sticky task elsewhere', () => {
    const { failure, counts } = explore(['rateLimit', 'requiredLabels', 'hardSticky']);
    expect(failure).toBeUndefined();
    for (const seen of ['placed:sticky-hard', 'placed:sticky-soft'])
      expect(counts[seen] ?? 0, seen).toBeGreaterThan(50);
  });

  it('never dispatches a task run that is already on a worker, nor twice in one pump', () => {
    expect(explore(['noDoubleDispatch']).failure).toBeUndefined();
  });

  it('never dispatches again a durable task run its live worker holds suspended', () => {
    const { failure, counts } = explore(['suspendedKept']);
    expect(failure).toBeUndefined();
    for (const seen of ['suspended', 'suspendedPastWindow'])
      expect(counts[seen] ?? 0, seen).toBeGreaterThan(50);
  });

  it('within a priority and task name, never dispatches an entry while an older one waits', () => {
    expect(explore(['ageOrder']).failure).toBeUndefined();
  });
});
