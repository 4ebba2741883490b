/**
 * Inputs and outputs larger than the server's max_payload (64 KB here), against a real engine:
 * over the inline limit (a third of max_payload here, under 256 KB) they go through the object
 * store, so they run; only `maxPayloadBytes` bounds them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunFailedError, ValidationError } from 'skein';
import { startChild } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv({ maxPayload: 64 * 1024 });
});
afterAll(async () => {
  await env.stop();
});

const kb = (n: number) => 'x'.repeat(n * 1024);

describe('max_payload', () => {
  it('an input over max_payload runs, by any way of triggering; one over maxPayloadBytes is refused and nothing is stored', async () => {
    const { skein } = await env.client({ skein: { maxPayloadBytes: 200 * 1024 } });
    const size = skein.task({ name: 'size', fn: (input: { blob: string }) => input.blob.length });
    await (await skein.worker('w', { workflows: [size] })).start();

    expect(await size.run({ blob: kb(100) })).toBe(100 * 1024);
    expect(await (await size.runNoWait({ blob: kb(100) })).result()).toBe(100 * 1024);
    expect(await skein.run('size', { blob: kb(100) })).toBe(100 * 1024);
    const many = await size.runMany([size.createBulkRunItem({ blob: kb(100) })]);
    expect(many).toEqual([100 * 1024]);

    const err = await size.run({ blob: kb(300) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/maxPayloadBytes/);
    await expect(size.runNoWait({ blob: kb(300) })).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.run('size', { blob: kb(300) })).rejects.toThrow(/maxPayloadBytes/);
    const items = [size.createBulkRunItem({ blob: kb(300) })];
    await expect(size.runMany(items)).rejects.toBeInstanceOf(ValidationError);
    expect(await skein.runs.list()).toHaveLength(4);
  });

  it('many triggers with 10 KB inputs complete one after another', async () => {
    const { skein } = await env.client();
    const size = skein.task({ name: 'size', fn: (input: { blob: string }) => input.blob.length });
    await (await skein.worker('w', { workflows: [size], slots: 1 })).start();
    for (let i = 0; i < 5; i++) expect(await size.run({ blob: kb(10) })).toBe(10 * 1024);
  });

  it('an input between half of max_payload and max_payload runs', async () => {
    const { skein } = await env.client();
    const size = skein.task({ name: 'size', fn: (input: { blob: string }) => input.blob.length });
    await (await skein.worker('w', { workflows: [size] })).start();
    expect(await size.run({ blob: kb(40) })).toBe(40 * 1024);
  });

  it('20 runs with 10 KB inputs dispatched at once to one worker all complete', async () => {
    const { skein, engine, namespace } = await env.client();
    await engine.stop();
    const child = await startChild('engine-process.ts', [env.url, namespace]);
    try {
      const size = skein.task({
        name: 'size',
        fn: (input: { blob: string }) => input.blob.length,
      });
      // Queued before any worker exists, so the worker's arrival dispatches all 20 in one go.
      const refs = await size.runManyNoWait(
        Array.from({ length: 20 }, () => size.createBulkRunItem({ blob: kb(10) })),
      );
      await (await skein.worker('w', { workflows: [size], slots: 20 })).start();
      const died = new Promise<never>((_, reject) =>
        child.process.once('exit', (code, signal) =>
          reject(new Error(`engine died (${code ?? signal}):\n${child.output()}`)),
        ),
      );
      const all = Promise.all(refs.map((r) => r.result()));
      expect(await Promise.race([all, died])).toEqual(Array(20).fill(10 * 1024));
    } finally {
      await child.kill();
    }
  });

  it('an output over max_payload completes the run; one over maxPayloadBytes fails it, saying so', async () => {
    const { skein } = await env.client({ skein: { maxPayloadBytes: 200 * 1024 } });
    const huge = skein.task({ name: 'huge', fn: () => kb(100) });
    const over = skein.task({ name: 'over', fn: () => kb(300) });
    await (await skein.worker('w', { workflows: [huge, over], stopGraceMs: 100 })).start();
    expect(await huge.run({})).toBe(kb(100));
    const err = await over.run({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors.over).toMatch(/maxPayloadBytes/);
  });
});
