/** Waiting durable tasks and worker memory: in-memory resume, TTL and capacity eviction, durableSlots, stop. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const waiting = (skein: Skein, runId: string) =>
  waitForHistory(skein, runId, 'TaskSuspended', { timeout: 10_000 });

describe('waiting durable tasks in worker memory', () => {
  it('resumes in memory after a short wait, without replaying its code', async () => {
    const { skein } = await env.client();
    let entries = 0;
    const task = skein.durableTask({
      name: 'short-nap',
      fn: async (_input, ctx) => {
        entries++;
        await ctx.sleepFor('300ms');
        return 'awake';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await task.run({})).toBe('awake');
    expect(entries).toBe(1);
  });

  it('drops a task from memory after its eviction TTL and resumes it by replay', async () => {
    const { skein } = await env.client();
    let entries = 0;
    let charges = 0;
    const task = skein.durableTask({
      name: 'evicted-nap',
      evictionPolicy: { ttl: '200ms' },
      fn: async (_input, ctx) => {
        entries++;
        const receipt = await ctx.memo(function charge() {
          charges++;
          return `receipt-${charges}`;
        });
        await ctx.sleepFor('1s');
        return receipt;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await task.run({})).toBe('receipt-1');
    expect(entries).toBe(2);
    expect(charges).toBe(1);
  });

  it('evicts a waiting task when the durable slots are needed, and both finish', async () => {
    const { skein } = await env.client();
    const entered: string[] = [];
    const task = skein.durableTask<{ id: string }>({
      name: 'slot-sharer',
      fn: async (input, ctx) => {
        entered.push(input.id);
        return ctx.waitForEvent(`go:${input.id}`);
      },
    });
    await (await skein.worker('w', { workflows: [task], durableSlots: 1 })).start();
    const a = await task.runNoWait({ id: 'a' });
    await waiting(skein, a.runId);
    const b = await task.runNoWait({ id: 'b' });
    await waiting(skein, b.runId);
    await skein.events.push('go:a', 'A');
    await skein.events.push('go:b', 'B');
    expect(await a.result()).toBe('A');
    expect(await b.result()).toBe('B');
    expect(entered.filter((id) => id === 'a')).toHaveLength(2); // evicted for b, then replayed
  });

  it('without capacity eviction, a full worker takes no new durable task until one ends', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask<{ id: string }>({
      name: 'slot-keeper',
      evictionPolicy: { allowCapacityEviction: false },
      fn: async (input, ctx) => ctx.waitForEvent(`keep:${input.id}`),
    });
    await (await skein.worker('w', { workflows: [task], durableSlots: 1 })).start();
    const a = await task.runNoWait({ id: 'a' });
    await waiting(skein, a.runId);
    const b = await task.runNoWait({ id: 'b' });
    // The scheduler says why b waits: a's pinned slot is the only one.
    await vi.waitFor(
      async () =>
        expect((await skein.runs.get(b.runId)).tasks[0]).toMatchObject({
          status: 'QUEUED',
          waitingFor: 'a free durable slot',
        }),
      SOON,
    );
    await skein.events.push('keep:a', 'A');
    expect(await a.result()).toBe('A');
    await waiting(skein, b.runId);
    await skein.events.push('keep:b', 'B');
    expect(await b.result()).toBe('B');
  });

  it('counts durable tasks against durableSlots, apart from slots', async () => {
    const { skein } = await env.client();
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const plain = skein.task({ name: 'slot-hog', fn: () => blocked.then(() => 'released') });
    const durable = skein.durableTask({
      name: 'durable-beside-hog',
      fn: async (_input, ctx) => (await ctx.now()).getTime() > 0,
    });
    await (
      await skein.worker('w', { workflows: [plain, durable], slots: 1, durableSlots: 2 })
    ).start();
    const hog = await plain.runNoWait({});
    await expect.poll(async () => (await skein.runs.get(hog.runId)).status).toBe('RUNNING');
    expect(await durable.run({})).toBe(true);
    release();
    expect(await hog.result()).toBe('released');
  });

  it('worker.stop() hands a waiting durable task back at once; another worker finishes it', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'handed-back',
      fn: async (_input, ctx) => {
        await ctx.waitForEvent('handoff:go');
        return ctx.workerId;
      },
    });
    const first = await skein.worker('first', { workflows: [task], stopGraceMs: 20_000 });
    await first.start();
    const ref = await task.runNoWait({});
    await waiting(skein, ref.runId);
    const stopStarted = Date.now();
    await first.stop();
    expect(Date.now() - stopStarted).toBeLessThan(5_000);
    const second = await skein.worker('second', { workflows: [task] });
    await second.start();
    await skein.events.push('handoff:go', {});
    expect(await ref.result()).toBe(second.id);
  });

  it('cancelling a run aborts the signal of its durable task waiting in memory, and drops it', async () => {
    const { skein } = await env.client();
    let aborted: unknown;
    const task = skein.durableTask({
      name: 'cancelled-while-waiting',
      fn: async (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
        await ctx.waitForEvent('never:comes');
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    await waiting(skein, ref.runId);
    await ref.cancel();
    await expect(ref.result()).rejects.toThrow(/cancelled by user/);
    await expect.poll(() => aborted).toBeInstanceOf(Error);
    expect(String((aborted as Error).message)).toMatch(/its run was cancelled/);
    expect((await skein.runs.get(ref.runId)).tasks[0].status).toBe('CANCELLED');
  });
});
