/**
 * Random interleavings of runs asking a concurrency group for slots and giving them back, with
 * the group's promises checked after every step. Seeded, so a failure names its seed.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../testing/random.js';
import { concurrencyActor } from './index.js';
import type { ConcurrencyMessage, ConcurrencyStrategy } from './messages.js';
import type { ConcurrencyState } from './state.js';

const SEEDS = 200;
const STEPS = 200;
const STRATEGIES: ConcurrencyStrategy[] = [
  'GROUP_ROUND_ROBIN',
  'CANCEL_IN_PROGRESS',
  'CANCEL_NEWEST',
];

function simulate(seed: number, strategy: ConcurrencyStrategy) {
  const random = mulberry32(seed);
  const maxRuns = 1 + Math.floor(random() * 3);
  let state: ConcurrencyState = concurrencyActor.initial('g|0|k');
  let next = 0;
  /** Holders that asked and have not released, in the order they asked. */
  const live: string[] = [];
  /** Holders told to cancel: their runs release soon, as a cancelled run does. */
  const toldToCancel = new Set<string>();
  const grantOrder: string[] = [];
  for (let step = 0; step < STEPS; step++) {
    let message: ConcurrencyMessage;
    const cancelled = [...toldToCancel].filter((h) => live.includes(h));
    if (cancelled.length > 0 && random() < 0.5) {
      message = { type: 'Release', id: `r-${step}`, holder: cancelled[0] };
    } else if (live.length === 0 || random() < 0.5) {
      const holder = `h${next++}`;
      message = { type: 'Acquire', id: `a-${step}`, holder, runId: holder, maxRuns, strategy };
    } else {
      const holder = live[Math.floor(random() * live.length)];
      message = { type: 'Release', id: `r-${step}`, holder };
    }
    const decision = concurrencyActor.decide(state, message, step);
    for (const e of decision.events) state = concurrencyActor.evolve(state, e);
    if (message.type === 'Acquire') live.push(message.holder);
    else live.splice(live.indexOf(message.holder), 1);
    for (const fx of decision.effects) {
      if (fx.type !== 'send') continue;
      const sent = fx.message as { type: string; holder?: string };
      if (sent.type === 'ConcurrencyGranted') grantOrder.push(sent.holder!);
      if (sent.type === 'Cancel') toldToCancel.add(fx.to.id);
    }
    check(
      state,
      maxRuns,
      live,
      toldToCancel,
      grantOrder,
      `seed ${seed} (${strategy}) step ${step}`,
    );
  }
}

/** Throws (cheaper than an expect per step) when a promise is broken. */
function promise(holds: boolean, what: string) {
  if (!holds) throw new Error(what);
}

function check(
  state: ConcurrencyState,
  maxRuns: number,
  live: string[],
  toldToCancel: Set<string>,
  grantOrder: string[],
  where: string,
) {
  const running = new Set(state.running.map((h) => h.holder));
  const waiting = new Set(state.waiting.map((h) => h.holder));
  promise(running.size <= maxRuns, `${where}: more than maxRuns running`);
  for (const h of running) promise(!waiting.has(h), `${where}: ${h} both running and waiting`);
  // Nobody is lost: every live holder runs, waits, or was told to cancel.
  for (const h of live) {
    const known = running.has(h) || waiting.has(h) || toldToCancel.has(h);
    promise(known, `${where}: ${h} asked and was neither served, queued nor cancelled`);
  }
  // Nobody released is still held.
  const alive = new Set(live);
  for (const h of [...running, ...waiting])
    promise(alive.has(h), `${where}: ${h} released but still held`);
  // A free slot never stays free while someone still wanted waits.
  const wanted = [...waiting].filter((h) => !state.cancelling.includes(h));
  promise(
    running.size >= maxRuns || wanted.length === 0,
    `${where}: a slot is free while ${wanted.join(', ')} wait`,
  );
  // Slots are granted in the order holders asked (ids are numbered in asking order).
  const [before, last] = grantOrder.slice(-2).map((h) => Number(h.slice(1)));
  if (state.strategy === 'GROUP_ROUND_ROBIN' && last !== undefined)
    promise(last > before, `${where}: h${last} granted after h${before}, out of order`);
}

describe('concurrency group, random interleavings', () => {
  for (const strategy of STRATEGIES) {
    it(`${strategy}: never over maxRuns, nobody lost or held after release, first come first served`, () => {
      for (let seed = 1; seed <= SEEDS; seed++)
        expect(() => simulate(seed, strategy)).not.toThrow();
    });
  }
});
