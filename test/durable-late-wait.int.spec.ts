/**
 * A durable task's memo and wait that reach its run late (after the scheduler's reconcile
 * window), as after a partition healed: the worker holds the execution suspended meanwhile, and
 * nothing may take it for lost and run it again, so the memo body runs once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TurnHooks } from '../runtime/actor-host.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const RECONCILE_AFTER_MS = 1_000;
const LATE = new Set(['DurableCall', 'DurableWait']);

/**
 * Holds back the turns of durable calls and waits until `release()`. The first delivery of each
 * fails, as an engine cut off from the worker would: the worker stores it in the inbox and goes
 * on, and the inbox's delivery waits. `since` is when the first one arrived.
 */
function lateTurns() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const seen = new Set<string>();
  const gate = { since: 0, release };
  const hooks: TurnHooks = {
    beforeDecide: (_actorId, messageId, messageType) => {
      if (!LATE.has(messageType)) return;
      if (seen.has(messageId)) return released;
      seen.add(messageId);
      gate.since ||= Date.now();
      throw new Error('no engine answered');
    },
  };
  return { hooks, gate };
}

describe('a durable call and wait that reach the run after the reconcile window', () => {
  it('the memo body runs once and the task resumes in memory, not by replay', async () => {
    const { hooks, gate } = lateTurns();
    const { skein } = await env.client({
      engine: { hooks, scheduler: { reconcileAfterMs: RECONCILE_AFTER_MS } },
    });
    let entries = 0;
    let charges = 0;
    const task = skein.durableTask({
      name: 'late-wait',
      fn: async (_input, ctx) => {
        entries++;
        const receipt = await ctx.memo(function charge() {
          charges++;
          return `receipt-${charges}`;
        });
        await ctx.sleepFor('200ms');
        return receipt;
      },
    });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    const ref = await task.runNoWait({});

    // Past the window, the scheduler has heard two heartbeats of the worker holding the task
    // suspended (before the fix the first one requeued it, and the second came 2 s after).
    await vi.waitFor(() => expect(gate.since).toBeGreaterThan(0), SOON);
    const beats = new Set<number>();
    await vi.waitFor(async () => {
      const [w] = (await skein.workers.list()).filter((x) => x.id === worker.id);
      const at = w.lastHeartbeatAt.getTime();
      if (at > gate.since + RECONCILE_AFTER_MS) beats.add(at);
      expect(beats.size).toBeGreaterThanOrEqual(2);
    }, SOON);
    expect(charges).toBe(1);
    gate.release();

    expect(await ref.result()).toBe('receipt-1');
    expect(charges).toBe(1);
    expect(entries).toBe(1);
    const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
    expect(types.filter((t) => t === 'TaskSuspended')).toHaveLength(1);
    expect(types.filter((t) => t === 'DurableCallRecorded')).toHaveLength(2); // the memo, the sleep
  });
});
