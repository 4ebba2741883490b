/** skein.runs.replay: running a finished run again under the same id, against a real engine. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gate } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('runs.replay', () => {
  it('runs a completed run again under the same id', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const counter = skein.task({ name: 'counter', fn: (n: number) => n + ++executions });
    await (await skein.worker('w', { workflows: [counter] })).start();
    const ref = await counter.runNoWait(10);
    expect(await ref.result()).toBe(11);

    await skein.runs.replay(ref.runId);
    expect(await skein.runRef<number>(ref.runId).result()).toBe(12);
    const run = await skein.runs.get(ref.runId);
    expect(run).toMatchObject({ status: 'COMPLETED', output: 12 });
    expect(executions).toBe(2);
    const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
    expect(types.filter((t) => t === 'RunReplayed')).toHaveLength(1);
    expect(types.indexOf('RunReplayed')).toBeGreaterThan(types.indexOf('RunCompleted'));
    expect(types.at(-1)).toBe('RunCompleted');
    expect(await skein.runs.list({ name: 'counter' })).toHaveLength(1);
  });

  it('a failed run replayed with the bug fixed completes', async () => {
    const { skein } = await env.client();
    let broken = true;
    const fixable = skein.task({
      name: 'fixable',
      fn: () => {
        if (broken) throw new Error('bug');
        return 'fixed';
      },
    });
    await (await skein.worker('w', { workflows: [fixable] })).start();
    const ref = await fixable.runNoWait({});
    await expect(ref.result()).rejects.toThrow(/bug/);
    broken = false;
    await skein.runs.replay(ref.runId);
    await vi.waitFor(
      async () => expect((await skein.runs.get(ref.runId)).status).toBe('COMPLETED'),
      SOON,
    );
    const run = await skein.runs.get(ref.runId);
    expect(run).toMatchObject({ output: 'fixed', error: null });
    expect(run.tasks[0]).toMatchObject({ status: 'COMPLETED', attempts: 1, error: null });
  });

  it('replaying a run that is still running changes nothing', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const release = gate();
    const held = skein.task({
      name: 'held',
      fn: async () => (++executions, await release.promise, 'ok'),
    });
    await (await skein.worker('w', { workflows: [held] })).start();
    const ref = await held.runNoWait({});
    await vi.waitFor(() => expect(executions).toBe(1), SOON);
    await skein.runs.replay(ref.runId);
    release.open();
    expect(await ref.result()).toBe('ok');
    expect(executions).toBe(1);
    expect((await skein.runs.history(ref.runId)).map((e) => e.type)).not.toContain('RunReplayed');
  });
});
