/** Runs started inside a task are children of its run; cancelling a run cancels its descendants. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunCancelledError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('child runs', () => {
  it('links a run started inside a task to the parent run', async () => {
    const { skein } = await env.client();
    const child = skein.task({ name: 'child', fn: (n: number) => n * 10 });
    const childIds: string[] = [];
    const parent = skein.task({
      name: 'parent',
      fn: async (n: number) => {
        const ref = await child.runNoWait(n);
        childIds.push(ref.runId);
        return (await ref.result()) + (await child.run(n + 1));
      },
    });
    await (await skein.worker('w', { workflows: [parent, child], slots: 4 })).start();
    const ref = await parent.runNoWait(1);
    expect(await ref.result()).toBe(10 + 20);
    expect((await skein.runs.get(childIds[0])).parentRunId).toBe(ref.runId);
    expect((await skein.runs.get(ref.runId)).parentRunId).toBeNull();
  });

  it('cancels children and grandchildren with their parent', async () => {
    const { skein } = await env.client();
    const aborted: string[] = [];
    const started: string[] = [];
    const waitForCancel = (name: string) => (_: unknown, ctx: { signal: AbortSignal }) =>
      new Promise((resolve) => {
        started.push(name);
        ctx.signal.addEventListener('abort', () => resolve(aborted.push(name)));
      });
    const grandchild = skein.task({ name: 'grandchild', fn: waitForCancel('grandchild') });
    const child = skein.task({
      name: 'child',
      fn: async (_: unknown, ctx) => {
        await grandchild.runNoWait({});
        return waitForCancel('child')(_, ctx);
      },
    });
    const parent = skein.task({
      name: 'parent',
      fn: async (_: unknown, ctx) => {
        await child.runNoWait({});
        return waitForCancel('parent')(_, ctx);
      },
    });
    await (await skein.worker('w', { workflows: [parent, child, grandchild], slots: 5 })).start();
    const ref = await parent.runNoWait({});
    await expect.poll(() => started.length, { timeout: 5000 }).toBe(3);
    await ref.cancel();
    await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
    await expect
      .poll(() => [...aborted].sort(), { timeout: 10_000 })
      .toEqual(['child', 'grandchild', 'parent']);
    const cancelled = await skein.runs.list({ status: 'CANCELLED' });
    expect(cancelled.map((r) => r.name).sort()).toEqual(['child', 'grandchild', 'parent']);
  });
});
