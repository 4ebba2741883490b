/** Workers: listing, slots, graceful stop and handing work to the next worker, against a real engine. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gate, sleep } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('workers.list', () => {
  it('shows a started worker ACTIVE with its name, slots, labels and a recent heartbeat', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 't', fn: () => 1 });
    expect(await skein.workers.list()).toEqual([]);
    const worker = await skein.worker('billing-worker', {
      workflows: [task],
      slots: 7,
      labels: { region: 'eu', memory: 64 },
    });
    await worker.start();
    const before = Date.now();

    const list = await skein.workers.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: worker.id,
      name: 'billing-worker',
      status: 'ACTIVE',
      slots: 7,
      labels: { region: 'eu', memory: 64 },
    });
    expect(list[0].lastHeartbeatAt).toBeInstanceOf(Date);
    expect(Math.abs(list[0].lastHeartbeatAt.getTime() - before)).toBeLessThan(5000);
    expect(await task.run({})).toBe(1);
  });

  it('lists two workers of one client apart, each with its own id', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 't', fn: () => 1 });
    const a = await skein.worker('a', { workflows: [task] });
    const b = await skein.worker('b', { workflows: [task], slots: 3 });
    await a.start();
    await b.start();
    expect(a.id).not.toBe(b.id);
    const list = await skein.workers.list();
    expect(list.map((w) => [w.name, w.slots, w.status]).sort()).toEqual([
      ['a', 100, 'ACTIVE'],
      ['b', 3, 'ACTIVE'],
    ]);
  });
});

describe('slots', () => {
  it('a worker with slots: 2 never runs more than 2 at once over 6 runs', async () => {
    const { skein } = await env.client();
    let running = 0;
    let peak = 0;
    const busy = skein.task({
      name: 'busy',
      fn: async (i: number) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(150);
        running--;
        return i;
      },
    });
    await (await skein.worker('w', { workflows: [busy], slots: 2 })).start();
    const started = Date.now();
    const outs = await busy.runMany([0, 1, 2, 3, 4, 5].map((i) => busy.createBulkRunItem(i)));
    expect(outs).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    // Three rounds of 150 ms at two at a time.
    expect(Date.now() - started).toBeGreaterThanOrEqual(440);
  });

  it('two workers share the runs and each stays within its own slots', async () => {
    const { skein } = await env.client();
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const busy = skein.task({
      name: 'busy',
      fn: async (_: number, ctx) => {
        running.set(ctx.workerId, (running.get(ctx.workerId) ?? 0) + 1);
        peak.set(ctx.workerId, Math.max(peak.get(ctx.workerId) ?? 0, running.get(ctx.workerId)!));
        await sleep(100);
        running.set(ctx.workerId, running.get(ctx.workerId)! - 1);
        return ctx.workerId;
      },
    });
    const a = await skein.worker('a', { workflows: [busy], slots: 1 });
    const b = await skein.worker('b', { workflows: [busy], slots: 2 });
    await a.start();
    await b.start();
    const outs = await busy.runMany(Array.from({ length: 9 }, (_, i) => busy.createBulkRunItem(i)));
    expect(new Set(outs)).toEqual(new Set([a.id, b.id]));
    expect(peak.get(a.id)).toBe(1);
    expect(peak.get(b.id)).toBeLessThanOrEqual(2);
  });
});

describe('worker.stop()', () => {
  it('lets a running task finish, shows STOPPING meanwhile, then the worker is no longer ACTIVE', async () => {
    const { skein } = await env.client();
    const started = gate();
    const release = gate();
    const task = skein.task({
      name: 'finishing',
      fn: async () => {
        started.open();
        await release.promise;
        return 'finished';
      },
    });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    const ref = await task.runNoWait({});
    await started.promise;

    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await vi.waitFor(
      async () => expect((await skein.workers.list()).map((w) => w.status)).toEqual(['STOPPING']),
      SOON,
    );
    expect(stopped).toBe(false);
    release.open();
    await stopping;
    expect(await ref.result()).toBe('finished');
    const after = await skein.workers.list();
    expect(after.filter((w) => w.id === worker.id && w.status === 'ACTIVE')).toEqual([]);
  });

  it('runs queued after a stop go to a worker started later', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'handover',
      fn: (n: number, ctx) => ({ n, by: ctx.workerId }),
    });
    const first = await skein.worker('first', { workflows: [task] });
    await first.start();
    expect((await task.run(0)).by).toBe(first.id);
    await first.stop();

    const refs = await task.runManyNoWait([1, 2, 3].map((n) => task.createBulkRunItem(n)));
    await vi.waitFor(
      async () => expect((await skein.runs.get(refs[0].runId)).status).toBe('QUEUED'),
      SOON,
    );
    const second = await skein.worker('second', { workflows: [task] });
    await second.start();
    const outs = await Promise.all(refs.map((r) => r.result()));
    expect(outs).toEqual([1, 2, 3].map((n) => ({ n, by: second.id })));
  });

  // API.md: stop() "finishes or hands back what it holds"; handing back spends no attempt.
  it('a task still running when the stop grace ends is handed back to another worker', async () => {
    const { skein } = await env.client();
    const started = gate();
    const task = skein.task({
      name: 'long',
      fn: async (_: unknown, ctx) => {
        if (ctx.workerId.startsWith('leaving')) {
          started.open();
          await sleep(5000);
        }
        return ctx.workerId;
      },
    });
    const leaving = await skein.worker('leaving', { workflows: [task], stopGraceMs: 200 });
    await leaving.start();
    const ref = await task.runNoWait({});
    await started.promise;
    await leaving.stop();
    const staying = await skein.worker('staying', { workflows: [task] });
    await staying.start();
    expect(await ref.result()).toBe(staying.id);
    const run = await skein.runs.get(ref.runId);
    expect(run.tasks[0]).toMatchObject({ status: 'COMPLETED', attempts: 1, workerId: staying.id });
    expect((await skein.runs.history(ref.runId)).map((e) => e.type)).toContain('TaskRequeued');
  });
});
