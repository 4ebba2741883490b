/** executionTimeout, ctx.refreshTimeout and scheduleTimeout of standalone tasks, against a real engine. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunCancelledError, RunFailedError, TimeoutError } from 'skein';
import { aborted, sleep } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('executionTimeout', () => {
  it('a task running past 500ms fails with "timed out" and sees its signal abort', async () => {
    const { skein } = await env.client();
    let signal: AbortSignal | undefined;
    const sleepy = skein.task({
      name: 'sleepy',
      executionTimeout: '500ms',
      fn: async (_: unknown, ctx) => {
        signal = ctx.signal;
        await Promise.race([aborted(ctx.signal), sleep(10_000)]);
        return 'woke up';
      },
    });
    await (await skein.worker('w', { workflows: [sleepy] })).start();

    const started = Date.now();
    const ref = await sleepy.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors.sleepy).toMatch(/^TimeoutError: .*timed out/);
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5000);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    const run = await skein.runs.get(ref.runId);
    expect(run).toMatchObject({ status: 'FAILED', errorClass: 'TimeoutError' });
    expect(run.tasks[0].error).toContain('timed out');
    expect(run.tasks[0].errorClass).toBe('TimeoutError');
  });

  it('a timed-out attempt is retried when retries are left', async () => {
    const { skein } = await env.client();
    const attempts: number[] = [];
    const slowFirst = skein.task({
      name: 'slow-first',
      executionTimeout: '500ms',
      retries: 1,
      fn: async (_: unknown, ctx) => {
        attempts.push(ctx.attemptNumber);
        if (ctx.attemptNumber === 1) await Promise.race([aborted(ctx.signal), sleep(10_000)]);
        return `attempt ${ctx.attemptNumber}`;
      },
    });
    await (await skein.worker('w', { workflows: [slowFirst] })).start();
    const ref = await slowFirst.runNoWait({});
    expect(await ref.result()).toBe('attempt 2');
    expect(attempts).toEqual([1, 2]);
    const history = await skein.runs.history(ref.runId);
    const failed = history.find((e) => e.type === 'TaskFailed');
    expect(failed?.data.error).toMatchObject({
      name: 'TimeoutError',
      message: expect.stringContaining('timed out'),
    });
  });

  it('ctx.refreshTimeout("4s") lets a task finish past its first deadline, and is in the history', async () => {
    const { skein } = await env.client();
    let abortedEarly = false;
    const extended = skein.task({
      name: 'extended',
      executionTimeout: '2s',
      fn: async (_: unknown, ctx) => {
        ctx.signal.addEventListener('abort', () => (abortedEarly = true));
        await sleep(1000);
        await ctx.refreshTimeout('4s');
        await sleep(2000); // 3 s in all: past 2 s, within 6 s (wide margins for a busy machine)
        return 'finished';
      },
    });
    await (await skein.worker('w', { workflows: [extended] })).start();

    const ref = await extended.runNoWait({});
    expect(await ref.result()).toBe('finished');
    expect(abortedEarly).toBe(false);
    const history = await skein.runs.history(ref.runId);
    const refreshed = history.find((e) => e.type === 'TimeoutRefreshed');
    expect(refreshed?.data).toMatchObject({ taskName: 'extended', byMs: 4000 });
    expect(history.at(-1)!.type).toBe('RunCompleted');
  });

  it('a refresh that is too short still times out', async () => {
    const { skein } = await env.client();
    const short = skein.task({
      name: 'short',
      executionTimeout: '500ms',
      fn: async (_: unknown, ctx) => {
        await ctx.refreshTimeout('100ms');
        await Promise.race([aborted(ctx.signal), sleep(10_000)]);
        return 'should not finish';
      },
    });
    await (await skein.worker('w', { workflows: [short] })).start();
    await expect(short.run({})).rejects.toThrow(/timed out/);
  });
});

describe('scheduleTimeout', () => {
  it('a run no worker serves is CANCELLED after scheduleTimeout, and run() rejects', async () => {
    const { skein } = await env.client();
    const orphan = skein.task({ name: 'orphan', scheduleTimeout: '1s', fn: () => 'never' });

    const started = Date.now();
    const ref = await orphan.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(err).toBeInstanceOf(RunCancelledError);
    expect((err as Error).message).toMatch(/schedule timeout/);
    const run = await skein.runs.get(ref.runId);
    expect(run.status).toBe('CANCELLED');
    expect(run.tasks[0].status).toBe('CANCELLED');
    expect(run.error).toMatch(/schedule timeout/);
    expect((await skein.runs.history(ref.runId)).at(-1)!.type).toBe('RunCancelled');
  });

  it('the same when the only worker serving the task has stopped; a later worker never runs it', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const task = skein.task({ name: 'abandoned', scheduleTimeout: '1s', fn: () => ++executions });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    expect(await task.run({})).toBe(1);
    await worker.stop();

    const ref = await task.runNoWait({});
    await expect(ref.result()).rejects.toThrow(RunCancelledError);
    await (await skein.worker('late', { workflows: [task] })).start();
    expect(await task.run({})).toBe(2);
    expect((await skein.runs.get(ref.runId)).status).toBe('CANCELLED');
    expect(executions).toBe(2);
  });

  it('a run that started in time is not cancelled by scheduleTimeout while it runs', async () => {
    const { skein } = await env.client();
    const long = skein.task({
      name: 'long',
      scheduleTimeout: '500ms',
      fn: async () => {
        await sleep(1500);
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [long] })).start();
    expect(await long.run({})).toBe('done');
  });

  it('a queued run is served when a worker arrives before its scheduleTimeout', async () => {
    const { skein } = await env.client();
    const late = skein.task({ name: 'late', scheduleTimeout: '20s', fn: () => 'served' });
    const ref = await late.runNoWait({});
    await vi.waitFor(
      async () => expect((await skein.runs.get(ref.runId)).status).toBe('QUEUED'),
      SOON,
    );
    await (await skein.worker('w', { workflows: [late] })).start();
    expect(await ref.result()).toBe('served');
  });
});
