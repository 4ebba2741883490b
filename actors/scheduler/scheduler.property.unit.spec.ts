/**
 * Random interleavings of queue entries and worker news, with the scheduler's promises
 * checked after every step. Seeded, so a failure names the seed that reproduces it.
 */
import { describe, expect, it } from 'vitest';
import { schedulerTurn, type SchedulerTurn } from '../testing/decider-spec.js';
import type { SchedulerMessage } from './messages.js';
import { freeSlots, initialSchedulerState, priorityIndex, type SchedulerState } from './state.js';

const SEEDS = 200;
const STEPS = 300;
const WORKERS = ['w1', 'w2', 'w3'];
const NAMES = ['a', 'b'];

/** mulberry32: a tiny seeded PRNG, good enough to shuffle test steps. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Invariant =
  'slots' | 'capable' | 'assignment' | 'noLoss' | 'priority' | 'noDoubleDispatch' | 'ageOrder';

interface Simulation {
  state: SchedulerState;
  now: number;
  /** What each worker really holds: what it was sent, less what ended, was refused or aborted. */
  held: Map<string, Set<string>>;
  /** Keys enqueued and not yet acknowledged. */
  live: Set<string>;
  /** Enqueue order of every key. */
  order: Map<string, number>;
}

function randomMessage(sim: Simulation, rnd: () => number): SchedulerMessage {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const heldPairs = [...sim.held].flatMap(([w, keys]) => [...keys].map((key) => ({ w, key })));
  const r = rnd();
  if (r < 0.3) {
    const key = `k${sim.order.size}`;
    sim.order.set(key, sim.order.size);
    sim.live.add(key);
    return {
      type: 'Enqueue',
      redelivered: false,
      task: {
        key,
        runId: `run-${key}`,
        workflowName: 'wf',
        taskName: pick(NAMES),
        attempt: 1,
        maxAttempts: 1,
        priority: 1 + Math.floor(rnd() * 3),
        enqueuedAt: sim.now,
        scheduleTimeoutMs: 2_000 + Math.floor(rnd() * 20_000),
        executionTimeoutMs: 10_000,
        input: null,
        additionalMetadata: {},
      },
    };
  }
  if (r < 0.5) {
    const workerId = pick(WORKERS);
    const taskNames = NAMES.filter(() => rnd() < 0.7);
    return {
      type: 'Heartbeat',
      heartbeat: {
        workerId,
        name: workerId,
        slots: Math.floor(rnd() * 6),
        taskNames: taskNames.length > 0 ? taskNames : [pick(NAMES)],
        running: [...sim.held.get(workerId)!],
        stopping: rnd() < 0.05,
        sentAt: sim.now,
      },
    };
  }
  if (r < 0.65 && heldPairs.length > 0) {
    const { key } = pick(heldPairs);
    for (const keys of sim.held.values()) keys.delete(key);
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
  const perWorker = new Map<string, number>();
  for (const d of dispatches) perWorker.set(d.workerId, (perWorker.get(d.workerId) ?? 0) + 1);
  for (const [w, n] of perWorker) {
    const worker = state.workers.get(w);
    if (n > (before.free.get(w) ?? 0) || !worker || worker.running.size > worker.slots)
      found.slots = `${n} dispatched to ${w} with ${before.free.get(w) ?? 0} free slots`;
  }
  for (const d of dispatches) {
    if (!state.workers.get(d.workerId)?.taskNames.has(d.task.taskName))
      found.capable = `${d.task.key} sent to ${d.workerId}`;
  }
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
  const waiting = [...state.entries.values()]
    .filter((e) => e.workerId === undefined)
    .map((e) => e.task);
  for (const t of waiting) {
    const queue = state.queues[priorityIndex(t.priority)];
    if (!queue.keys.slice(queue.head).includes(t.key))
      found.noLoss = `${t.key} waits but is out of its queue`;
  }
  for (const d of dispatches) {
    const p = priorityIndex(d.task.priority);
    const sameName = waiting.filter((t) => t.taskName === d.task.taskName);
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
      live: new Set(),
      order: new Map(),
    };
    const trail: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      sim.now += Math.floor(rnd() * 50);
      const message = randomMessage(sim, rnd);
      trail.push(`${sim.now} ${JSON.stringify(message).slice(0, 160)}`);
      let before: BeforePump = { free: new Map(), waiting: new Set() };
      const turn = schedulerTurn(sim.state, message, sim.now, (s) => {
        before = {
          free: new Map([...s.workers.values()].map((w) => [w.id, freeSlots(w, sim.now)])),
          waiting: new Set(
            [...s.entries].filter(([, e]) => e.workerId === undefined).map(([k]) => k),
          ),
        };
      });
      counts[message.type] = (counts[message.type] ?? 0) + 1;
      for (const effect of turn.effects) {
        const name = effect.type === 'tellRun' ? `tellRun:${effect.message.type}` : effect.type;
        counts[name] = (counts[name] ?? 0) + 1;
        if (effect.type === 'dispatch') sim.held.get(effect.workerId)!.add(effect.task.key);
        if (effect.type === 'abortOnWorker') sim.held.get(effect.workerId)!.delete(effect.key);
        if (effect.type === 'ack') sim.live.delete(effect.key);
      }
      const found = violations(sim, turn, before);
      const broken = checked.find((name) => found[name]);
      if (broken) {
        const failure = `seed ${seed}, step ${step}: ${broken}: ${found[broken]}\nlast steps:\n  ${trail.slice(-8).join('\n  ')}`;
        return { failure, counts };
      }
    }
  }
  return { counts };
}

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
    ])
      expect(counts[seen] ?? 0, seen).toBeGreaterThan(50);
  });

  it('never dispatches a task run that is already on a worker, nor twice in one pump', () => {
    expect(explore(['noDoubleDispatch']).failure).toBeUndefined();
  });

  it('within a priority and task name, never dispatches an entry while an older one waits', () => {
    expect(explore(['ageOrder']).failure).toBeUndefined();
  });
});
