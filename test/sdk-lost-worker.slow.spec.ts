/**
 * A worker killed with SIGKILL while it runs a task: the engine declares it lost (no
 * heartbeat for 10 s) and the task run goes to a healthy worker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startChild, type ChildHandle } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
let child: ChildHandle | undefined;
afterEach(async () => {
  await child?.kill();
  await env?.stop();
  env = child = undefined;
});

describe('lost worker', () => {
  it('a task run held by a SIGKILLed worker completes on a healthy worker', async () => {
    env = await startSkeinEnv();
    const { skein, namespace } = await env.client();
    child = await startChild('sleepy-worker.ts', [env.url, namespace]);
    const lostId = /ready (\S+)/.exec(child.output())![1];
    const sleepy = skein.task({
      name: 'sleepy',
      fn: (_: unknown, ctx) => ({ by: ctx.workerId, attempt: ctx.attemptNumber }),
    });

    const ref = await sleepy.runNoWait({});
    await vi.waitFor(() => expect(child!.output()).toContain(`started ${ref.runId}`), {
      timeout: 10_000,
    });
    expect((await skein.runs.get(ref.runId)).tasks[0].workerId).toBe(lostId);
    await child.kill('SIGKILL');
    const killedAt = Date.now();

    const healthy = await skein.worker('healthy', { workflows: [sleepy] });
    await healthy.start();
    const out = await ref.result();
    const tookMs = Date.now() - killedAt;
    expect(out).toEqual({ by: healthy.id, attempt: 1 });
    // Lost after 10 s without heartbeats (heartbeats every 2 s); API.md promises within 15 s.
    expect(tookMs).toBeLessThan(25_000);

    const history = await skein.runs.history(ref.runId);
    const requeued = history.findIndex((e) => e.type === 'TaskRequeued');
    expect(history[requeued]?.data).toMatchObject({ workerId: lostId, taskName: 'sleepy' });
    // The lost attempt comes first in the history, as it did in time.
    expect(requeued).toBeLessThan(history.findIndex((e) => e.type === 'TaskStarted'));
    expect(history.at(-1)!.type).toBe('RunCompleted');
    const run = await skein.runs.get(ref.runId);
    expect(run.tasks[0]).toMatchObject({ status: 'COMPLETED', workerId: healthy.id });
    const workers = await skein.workers.list();
    expect(workers.find((w) => w.id === lostId)?.status ?? 'LOST').toBe('LOST');
    expect(workers.find((w) => w.id === healthy.id)?.status).toBe('ACTIVE');
  }, 60_000);
});
