/**
 * A task run whose worker is lost goes to another worker, and the run records why
 * (`TaskRequeued`) before that worker's attempt, however late the scheduler's word reaches the
 * run. Here it is late on purpose: the first deliveries of `WorkerLost` fail, as a busy inbox
 * would hold it back, while the new worker's result goes straight to the run.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TurnHooks } from '../runtime/actor-host.js';
import { startChild, type ChildHandle } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
let child: ChildHandle | undefined;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await child?.kill();
  await env.stop();
});

/** Heartbeats come every 2 s: lost after two missed ones. */
const WORKER_LOST_AFTER_MS = 4_000;
/** Deliveries of each `WorkerLost` that fail (the inbox hands it over again 250 ms, 500 ms later). */
const FAILED_DELIVERIES = 2;

describe('a task run requeued from a lost worker', () => {
  it('records TaskRequeued before the attempt on the healthy worker, even when the run hears of it late', async () => {
    const failed = new Map<string, number>();
    const hooks: TurnHooks = {
      beforeDecide: (_actorId, messageId, messageType) => {
        if (messageType !== 'WorkerLost') return;
        const n = failed.get(messageId) ?? 0;
        if (n >= FAILED_DELIVERIES) return;
        failed.set(messageId, n + 1);
        throw new Error('the run is busy');
      },
    };
    const { skein, namespace } = await env.client({
      engine: { hooks, scheduler: { workerLostAfterMs: WORKER_LOST_AFTER_MS } },
    });
    child = await startChild('sleepy-worker.ts', [env.url, namespace]);
    const lostId = /ready (\S+)/.exec(child.output())![1];
    const sleepy = skein.task({
      name: 'sleepy',
      fn: (_: unknown, ctx) => ({ by: ctx.workerId, attempt: ctx.attemptNumber }),
    });
    const ref = await sleepy.runNoWait({});
    await vi.waitFor(() => expect(child!.output()).toContain(`started ${ref.runId}`), SOON);
    await child.kill('SIGKILL');
    const healthy = await skein.worker('healthy', { workflows: [sleepy] });
    await healthy.start();

    expect(await ref.result()).toEqual({ by: healthy.id, attempt: 1 });
    const history = await skein.runs.history(ref.runId);
    const requeued = history.findIndex((e) => e.type === 'TaskRequeued');
    const started = history.findIndex((e) => e.type === 'TaskStarted');
    expect(history[requeued]?.data).toMatchObject({ workerId: lostId, taskName: 'sleepy' });
    expect(history[started]?.data).toMatchObject({ workerId: healthy.id });
    expect(requeued).toBeLessThan(started);
    expect(history.at(-1)!.type).toBe('RunCompleted');
    // The run heard of the loss only on the third delivery, and still first.
    expect([...failed.values()]).toEqual([FAILED_DELIVERIES]);
  }, 60_000);
});
