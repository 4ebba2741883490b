/**
 * Bad input and bad options are refused at the boundary with ValidationError, nothing is
 * stored, and the engine keeps serving good runs afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RunFailedError, ValidationError, type Skein } from 'skein';
import { sleep } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const order = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive().default(1),
  note: z.string().optional(),
});

function orderTask(skein: Skein, seen: unknown[]) {
  return skein.task({
    name: 'order',
    inputValidator: order,
    fn: (input, ctx) => {
      seen.push(ctx.input);
      return { total: input.quantity * 10 };
    },
  });
}

describe('inputValidator (zod)', () => {
  it('bad input rejects run() with ValidationError naming the field, before any run exists', async () => {
    const { skein } = await env.client();
    const seen: unknown[] = [];
    const task = orderTask(skein, seen);
    await (await skein.worker('w', { workflows: [task] })).start();

    const err = await task.run({ sku: 'A', quantity: -2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('quantity');
    const missing = await task.runNoWait({ quantity: 2 } as never).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ValidationError);
    expect((missing as Error).message).toContain('sku');
    expect(await skein.runs.list()).toEqual([]);
    expect(seen).toEqual([]);

    expect(await task.run({ sku: 'A', quantity: 3 })).toEqual({ total: 30 });
  });

  it('good input is parsed: defaults are applied before the task sees it, and stored parsed', async () => {
    const { skein } = await env.client();
    const seen: unknown[] = [];
    const task = orderTask(skein, seen);
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({ sku: 'B' } as z.input<typeof order> as z.output<
      typeof order
    >);
    expect(await ref.result()).toEqual({ total: 10 });
    expect(seen).toEqual([{ sku: 'B', quantity: 1 }]);
    expect((await skein.runs.get(ref.runId)).input).toEqual({ sku: 'B', quantity: 1 });
  });

  it('a trigger by name gives the task parsed input too', async () => {
    const { skein, newClient } = await env.client();
    const seen: unknown[] = [];
    const task = orderTask(skein, seen);
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await newClient().run('order', { sku: 'C' })).toEqual({ total: 10 });
    expect(seen).toEqual([{ sku: 'C', quantity: 1 }]);
  });

  it('runMany with one invalid item starts none of them', async () => {
    const { skein } = await env.client();
    const seen: unknown[] = [];
    const task = orderTask(skein, seen);
    await (await skein.worker('w', { workflows: [task] })).start();
    const items = [
      task.createBulkRunItem({ sku: 'ok', quantity: 1 }),
      task.createBulkRunItem({ sku: '', quantity: 1 }),
    ];
    await expect(task.runMany(items)).rejects.toBeInstanceOf(ValidationError);
    await expect(task.runManyNoWait(items)).rejects.toBeInstanceOf(ValidationError);
    await task.run({ sku: 'later', quantity: 1 });
    // Nothing to await for runs that must not exist: give stray triggers a moment to land.
    await sleep(300);
    expect((await skein.runs.list()).map((r) => (r.input as { sku: string }).sku)).toEqual([
      'later',
    ]);
  });
});

describe('input that JSON cannot carry', () => {
  it('functions, BigInts, cycles, class instances and NaN reject with ValidationError; nothing is stored', async () => {
    const { skein } = await env.client();
    const echo = skein.task({ name: 'echo', fn: (input: unknown) => input });
    await (await skein.worker('w', { workflows: [echo] })).start();
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const bad: [unknown, RegExp][] = [
      [{ callback: () => 1 }, /callback/],
      [{ amount: 10n }, /amount/],
      [cycle, /cycle/],
      [{ seen: new Map([[1, 2]]) }, /seen/],
      [{ score: Number.NaN }, /score/],
      [{ list: [1, undefined] }, /list/],
      [Symbol('s'), /input/],
    ];
    for (const [input, field] of bad) {
      const err = await echo.run(input).catch((e: unknown) => e);
      expect(err, String(field)).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(field);
      await expect(echo.runNoWait(input)).rejects.toBeInstanceOf(ValidationError);
      await expect(skein.run('echo', input)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await skein.runs.list()).toEqual([]);
    expect(await echo.run({ fine: [1, 'two'] })).toEqual({ fine: [1, 'two'] });
  });

  it('an output JSON cannot carry fails the run with a message saying so', async () => {
    const { skein } = await env.client();
    const leaky = skein.task({ name: 'leaky', fn: () => ({ big: 1n }) as unknown });
    await (await skein.worker('w', { workflows: [leaky] })).start();
    const err = await leaky.run({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors.leaky).toMatch(/output.*big|big.*output/);
    expect(await leaky.run({}).catch(() => 'still failing')).toBe('still failing');
  });

  it('an empty idempotency key and a non-object metadata reject', async () => {
    const { skein } = await env.client();
    const echo = skein.task({ name: 'echo', fn: (input: unknown) => input });
    await (await skein.worker('w', { workflows: [echo] })).start();
    await expect(echo.run(1, { key: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(echo.run(1, { additionalMetadata: 'x' as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await skein.runs.list()).toEqual([]);
    expect(await echo.run(2, { key: 'k' })).toBe(2);
  });
});

describe('bad options at declaration', () => {
  it('throws ValidationError naming the option and the bad value', async () => {
    const { skein } = await env.client();
    const fn = () => 1;
    const cases: [() => unknown, RegExp][] = [
      [() => skein.task({ name: 't', retries: -1, fn }), /retries/],
      [() => skein.task({ name: 't', retries: 1.5, fn }), /retries/],
      [() => skein.task({ name: 't', executionTimeout: 'soon', fn }), /executionTimeout.*soon/],
      [() => skein.task({ name: 't', executionTimeout: -5, fn }), /executionTimeout/],
      [() => skein.task({ name: 't', executionTimeout: 0, fn }), /timeout/],
      [
        () => skein.task({ name: 't', scheduleTimeout: '5 minutes', fn }),
        /scheduleTimeout.*5 minutes/,
      ],
      [() => skein.task({ name: 't', scheduleTimeout: '10x', fn }), /scheduleTimeout/],
      [() => skein.task({ name: 't', backoff: { factor: 0 }, fn }), /backoff\.factor/],
      [() => skein.task({ name: 't', backoff: { maxSeconds: -1 }, fn }), /backoff\.maxSeconds/],
      [() => skein.task({ name: '', fn }), /name/],
      [() => skein.task({ name: '   ', fn }), /name/],
      [() => skein.task({ name: 't' } as never), /fn/],
    ];
    for (const [declare, option] of cases) {
      let thrown: unknown;
      try {
        declare();
      } catch (err) {
        thrown = err;
      }
      expect(thrown, String(option)).toBeInstanceOf(ValidationError);
      expect((thrown as Error).message).toMatch(option);
    }
  });

  it('bad worker options reject, and durations in every documented form are accepted', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'ok',
      executionTimeout: '1h30m',
      scheduleTimeout: 90_000,
      fn: () => 'fine',
    });
    for (const d of ['250ms', '10s', '5m', '2h', '1d', '1h30m', 1500]) {
      expect(() => skein.task({ name: 'd', executionTimeout: d, fn: () => 1 })).not.toThrow();
    }
    await expect(skein.worker('w', { workflows: [task], slots: 0 })).rejects.toThrow(/slots/);
    await expect(skein.worker('w', { workflows: [task], slots: 1.5 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(skein.worker('w', { workflows: [] })).rejects.toThrow(/workflows/);
    await expect(skein.worker('', { workflows: [task] })).rejects.toBeInstanceOf(ValidationError);
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await task.run({})).toBe('fine');
  });
});
