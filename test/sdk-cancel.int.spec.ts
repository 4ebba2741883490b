/** Cancelling standalone runs: RunRef.cancel, skein.runs.cancel and ctx.cancel, against a real engine. */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { RunCancelledError, type Skein } from 'skein';
import { aborted, gate, sleep } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** A task that signals when it starts and then waits for its signal to abort (4 s at most). */
async function waitingTask(skein: Skein, name: string) {
  const started = gate<AbortSignal>();
  let executions = 0;
  const task = skein.task({
    name,
    fn: async (_: unknown, ctx) => {
      executions++;
      started.open(ctx.signal);
      await Promise.race([aborted(ctx.signal), sleep(4000)]);
      return ctx.signal.aborted ? 'aborted' : 'not cancelled';
    },
  });
  const worker = await skein.worker('w', { workflows: [task], slots: 1 });
  await worker.start();
  return { task, started, executions: () => executions };
}

async function expectCancelled(skein: Skein, runId: string, reason: RegExp) {
  const run = await skein.runs.get(runId);
  expect(run.status).toBe('CANCELLED');
  expect(run.tasks[0].status).toBe('CANCELLED');
  expect(run.error).toMatch(reason);
  expect(run.finishedAt).toBeInstanceOf(Date);
  const history = await skein.runs.history(runId);
  expect(history.map((e) => e.type)).toContain('TaskCancelled');
  expect(history.at(-1)!.type).toBe('RunCancelled');
}

describe('cancelling a running task', () => {
  it('RunRef.cancel(): run() rejects RunCancelledError, status and task status CANCELLED', async () => {
    const { skein } = await env.client();
    const { task, started } = await waitingTask(skein, 'cancel-by-ref');
    const ref = await task.runNoWait({});
    await started.promise;
    await ref.cancel();
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunCancelledError);
    expect((err as RunCancelledError).runId).toBe(ref.runId);
    expect((err as Error).message).toMatch(/cancelled by user/);
    await expectCancelled(skein, ref.runId, /cancelled by user/);
  });

  it('skein.runs.cancel(id) from another client does the same', async () => {
    const { skein, newClient } = await env.client();
    const { task, started } = await waitingTask(skein, 'cancel-by-id');
    const ref = await task.runNoWait({});
    await started.promise;
    await newClient().runs.cancel(ref.runId);
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await expectCancelled(skein, ref.runId, /cancel/);
  });

  it('RunRef.cancel() aborts the running task’s ctx.signal', async () => {
    const { skein } = await env.client();
    const { task, started } = await waitingTask(skein, 'abort-by-ref');
    const ref = await task.runNoWait({});
    const signal = await started.promise;
    await ref.cancel();
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await vi.waitFor(() => expect(signal.aborted).toBe(true), { timeout: 3000 });
  });

  it('skein.runs.cancel(id) aborts the running task’s ctx.signal', async () => {
    const { skein } = await env.client();
    const { task, started } = await waitingTask(skein, 'abort-by-id');
    const ref = await task.runNoWait({});
    const signal = await started.promise;
    await skein.runs.cancel(ref.runId);
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await vi.waitFor(() => expect(signal.aborted).toBe(true), { timeout: 3000 });
  });

  it('ctx.cancel() from inside the task cancels its own run and aborts its signal', async () => {
    const { skein } = await env.client();
    let abortedAfterCancel: boolean | undefined;
    const quitter = skein.task({
      name: 'quitter',
      fn: async (_: unknown, ctx) => {
        await ctx.cancel();
        abortedAfterCancel = ctx.signal.aborted;
        return 'should be ignored';
      },
    });
    await (await skein.worker('w', { workflows: [quitter] })).start();
    const ref = await quitter.runNoWait({});
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await vi.waitFor(() => expect(abortedAfterCancel).toBe(true), SOON);
    await expectCancelled(skein, ref.runId, /ctx\.cancel/);
    expect((await skein.runs.get(ref.runId)).output).toBeNull();
  });

  it('a cancelled task that ignores its signal gives its slot back: the next run proceeds', async () => {
    const { skein } = await env.client();
    const deaf = gate();
    onTestFinished(() => deaf.open());
    const stubborn = skein.task({
      name: 'stubborn',
      fn: async (n: number) => {
        if (n === 0) await deaf.promise; // ignores ctx.signal until the test ends
        return n;
      },
    });
    await (await skein.worker('w', { workflows: [stubborn], slots: 1 })).start();
    const stuck = await stubborn.runNoWait(0);
    await vi.waitFor(
      async () => expect((await skein.runs.get(stuck.runId)).status).toBe('RUNNING'),
      SOON,
    );
    await stuck.cancel();
    await expect(stuck.result()).rejects.toBeInstanceOf(RunCancelledError);
    // The stuck attempt never ends: without the slot coming back this hangs.
    expect(await stubborn.run(7)).toBe(7);
  });

  it('after ctx.cancel() on a one-slot worker the next run starts at once', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'self-cancel',
      fn: async (n: number, ctx) => {
        if (n === 0) await ctx.cancel();
        return n;
      },
    });
    await (await skein.worker('w', { workflows: [task], slots: 1 })).start();
    await expect(task.run(0)).rejects.toBeInstanceOf(RunCancelledError);
    expect(await task.run(1)).toBe(1);
  });

  it('a cancelled task is never executed again', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const again = gate();
    const task = skein.task({
      name: 'once-only',
      fn: async (_: unknown, ctx) => {
        if (++executions > 1) again.open();
        await ctx.cancel();
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    await expect(task.run({})).rejects.toBeInstanceOf(RunCancelledError);
    // Watching for a repeat is the point: the engine re-checks workers' claims every ~5 s.
    await Promise.race([again.promise, sleep(8000)]);
    expect(executions).toBe(1);
  }, 15_000);
});

describe('cancelling other runs', () => {
  it('a queued run can be cancelled before any worker serves it', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'queued', fn: (n: number) => n });
    const ref = await task.runNoWait(1);
    await skein.runs.cancel(ref.runId);
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await expectCancelled(skein, ref.runId, /cancelled by user/);
  });

  it('a cancelled queued run never runs, even when a worker arrives later', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const task = skein.task({ name: 'queued', fn: (n: number) => (executions++, n) });
    const ref = await task.runNoWait(1);
    await skein.runs.cancel(ref.runId);
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await task.run(2)).toBe(2);
    expect(executions).toBe(1);
  });

  it('cancelling a finished run changes nothing', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'done', fn: () => 'ok' });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe('ok');
    await ref.cancel();
    await skein.runs.cancel(ref.runId);
    const run = await skein.runs.get(ref.runId);
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toBe('ok');
    expect((await skein.runs.history(ref.runId)).at(-1)!.type).toBe('RunCompleted');
    expect(await skein.runRef(ref.runId).result()).toBe('ok');
  });

  it('cancelling one run leaves another running one to complete', async () => {
    const { skein } = await env.client();
    const release = gate();
    const started = new Set<string>();
    const task = skein.task({
      name: 'pair',
      fn: async (label: string) => {
        started.add(label);
        await release.promise;
        return label;
      },
    });
    await (await skein.worker('w', { workflows: [task], slots: 2 })).start();
    const victim = await task.runNoWait('victim');
    const bystander = await task.runNoWait('bystander');
    await vi.waitFor(() => expect(started.size).toBe(2), SOON);
    await victim.cancel();
    await expect(victim.result()).rejects.toBeInstanceOf(RunCancelledError);
    release.open();
    expect(await bystander.result()).toBe('bystander');
    expect((await skein.runs.get(bystander.runId)).status).toBe('COMPLETED');
  });
});
