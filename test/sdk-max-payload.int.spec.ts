/** Inputs and outputs larger than the server's max_payload (64 KB here), against a real engine. */
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
  it('an input over max_payload rejects with ValidationError mentioning it; nothing is stored', async () => {
    const { skein } = await env.client();
    const size = skein.task({ name: 'size', fn: (input: { blob: string }) => input.blob.length });
    await (await skein.worker('w', { workflows: [size] })).start();

    const err = await size.run({ blob: kb(100) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/max_payload/);
    await expect(size.runNoWait({ blob: kb(100) })).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.run('size', { blob: kb(100) })).rejects.toThrow(/max_payload/);
    const items = [size.createBulkRunItem({ blob: kb(100) })];
    await expect(size.runMany(items)).rejects.toBeInstanceOf(ValidationError);
    expect(await skein.runs.list()).toEqual([]);

    expect(await size.run({ blob: kb(10) })).toBe(10 * 1024);
  });

  it('many triggers with 10 KB inputs complete one after another', async () => {
    const { skein } = await env.client();
    const size = skein.task({ name: 'size', fn: (input: { blob: string }) => input.blob.length });
    await (await skein.worker('w', { workflows: [size], slots: 1 })).start();
    for (let i = 0; i < 5; i++) expect(await size.run({ blob: kb(10) })).toBe(10 * 1024);
  });

  it('an input between half of max_payload and max_payload runs, or is refused', async () => {
    const { skein } = await env.client();
    const size = skein.task({ name: 'size', fn: (input: { blob: string }) => input.blob.length });
    await (await skein.worker('w', { workflows: [size] })).start();
    const outcome = await size.runNoWait({ blob: kb(40) }).then(
      (ref) => ref.result(),
      (err: unknown) => err,
    );
    if (outcome instanceof Error) expect(outcome).toBeInstanceOf(ValidationError);
    else expect(outcome).toBe(40 * 1024);
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

  it('an output over max_payload fails the run with a message mentioning max_payload', async () => {
    const { skein } = await env.client();
    const huge = skein.task({ name: 'huge', fn: () => kb(100) });
    await (await skein.worker('w', { workflows: [huge], stopGraceMs: 100 })).start();
    const err = await huge.run({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors.huge).toMatch(/max_payload/);
  });
});
