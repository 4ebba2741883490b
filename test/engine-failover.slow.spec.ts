/**
 * Several engines share a namespace's partitions; when one dies (SIGKILL), another takes
 * its partitions over once the leases expire, and the runs on them complete.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChild } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('engine failover', () => {
  it('splits partitions between two engines and moves a dead one’s to the survivor', async () => {
    const { skein, engine, namespace } = await env.client();
    const other = await startChild('engine-process.ts', [env.url, namespace]);
    // The in-process engine gives up partitions beyond its fair share of two.
    await vi.waitFor(() => expect(engine.partitions().length).toBe(4), {
      timeout: 15_000,
      interval: 200,
    });

    let gate!: () => void;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    const task = skein.task({ name: 'gated', fn: async (n: number) => (await opened, n * 2) });
    await (await skein.worker('w', { workflows: [task], slots: 50 })).start();
    const refs = await task.runManyNoWait(
      Array.from({ length: 40 }, (_, i) => task.createBulkRunItem(i)),
    );

    await other.kill('SIGKILL');
    gate();
    await vi.waitFor(() => expect(engine.partitions().length).toBe(8), {
      timeout: 30_000,
      interval: 250,
    });
    const outputs = await Promise.all(refs.map((r) => r.result()));
    expect(outputs).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    for (const ref of refs.slice(0, 10)) {
      const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
      expect(types.filter((t) => t === 'RunCompleted')).toHaveLength(1);
    }
  }, 60_000);
});
