/**
 * Triggering standalone tasks against a real engine: run, runNoWait, RunRef, runMany,
 * triggering by name, watching a run from another client, and idempotency keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, NotFoundError, RunFailedError } from 'skein';
import { gate, sleep } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('run and runNoWait', () => {
  it('run waits for the output; runNoWait gives a ref whose result() and output agree', async () => {
    const { skein } = await env.client();
    const double = skein.task({ name: 'double', fn: (n: number) => n * 2 });
    await (await skein.worker('w', { workflows: [double] })).start();

    expect(await double.run(21)).toBe(42);

    const ref = await double.runNoWait(5);
    expect(ref.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await ref.result()).toBe(10);
    expect(await ref.output).toBe(10);
    expect((await skein.runs.get(ref.runId)).output).toBe(10);
  });

  it('runNoWait resolves before the task has run (the trigger is stored, not executed)', async () => {
    const { skein } = await env.client();
    const release = gate();
    let ran = false;
    const held = skein.task({
      name: 'held',
      fn: async () => {
        await release.promise;
        ran = true;
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [held] })).start();
    const ref = await held.runNoWait({});
    expect(ran).toBe(false);
    release.open();
    expect(await ref.result()).toBe('done');
    expect(ran).toBe(true);
  });

  it('run of a task that throws rejects with RunFailedError carrying runId and the message', async () => {
    const { skein } = await env.client();
    const bad = skein.task({
      name: 'bad',
      fn: () => {
        throw new Error('kaput');
      },
    });
    await (await skein.worker('w', { workflows: [bad] })).start();
    const ref = await bad.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).runId).toBe(ref.runId);
    expect((err as RunFailedError).errors).toEqual({ bad: 'Error: kaput' });
    expect((err as RunFailedError).message).toContain('kaput');
  });
});

describe('runMany', () => {
  it('keeps the order of the items even when later ones finish first', async () => {
    const { skein } = await env.client();
    const finished: number[] = [];
    const slow = skein.task({
      name: 'slow-first',
      fn: async (i: number) => {
        await sleep((5 - i) * 60);
        finished.push(i);
        return `out-${i}`;
      },
    });
    await (await skein.worker('w', { workflows: [slow], slots: 10 })).start();
    const items = [0, 1, 2, 3, 4].map((i) => slow.createBulkRunItem(i));
    expect(await slow.runMany(items)).toEqual(['out-0', 'out-1', 'out-2', 'out-3', 'out-4']);
    expect(finished).not.toEqual([0, 1, 2, 3, 4]);
  });

  it('runManyNoWait returns one ref per item, in order, honouring each item’s options', async () => {
    const { skein } = await env.client();
    const echo = skein.task({
      name: 'echo',
      fn: (i: number, ctx) => ({ i, tag: ctx.additionalMetadata.tag }),
    });
    await (await skein.worker('w', { workflows: [echo] })).start();
    const refs = await echo.runManyNoWait([
      echo.createBulkRunItem(1, { additionalMetadata: { tag: 'one' } }),
      echo.createBulkRunItem(2, { additionalMetadata: { tag: 'two' } }),
      echo.createBulkRunItem(3),
    ]);
    expect(new Set(refs.map((r) => r.runId)).size).toBe(3);
    expect(await Promise.all(refs.map((r) => r.result()))).toEqual([
      { i: 1, tag: 'one' },
      { i: 2, tag: 'two' },
      { i: 3 },
    ]);
  });

  it('rejects with RunFailedError when one fails, or returns errors in place with returnExceptions', async () => {
    const { skein } = await env.client();
    const picky = skein.task({
      name: 'picky',
      fn: (n: number) => {
        if (n % 2 === 1) throw new Error(`odd ${n}`);
        return n;
      },
    });
    await (await skein.worker('w', { workflows: [picky] })).start();
    const items = [0, 1, 2, 3].map((n) => picky.createBulkRunItem(n));

    await expect(picky.runMany(items)).rejects.toBeInstanceOf(RunFailedError);

    const out = await picky.runMany(items, { returnExceptions: true });
    expect(out).toHaveLength(4);
    expect(out[0]).toBe(0);
    expect(out[2]).toBe(2);
    for (const [i, n] of [
      [1, 1],
      [3, 3],
    ] as const) {
      expect(out[i]).toBeInstanceOf(RunFailedError);
      const err = out[i] as RunFailedError;
      expect(err.errors).toEqual({ picky: `Error: odd ${n}` });
      expect((await skein.runs.get(err.runId)).status).toBe('FAILED');
    }
  });
});

describe('by name', () => {
  it('skein.run and skein.runNoWait trigger a task registered by a worker', async () => {
    const { skein, newClient } = await env.client();
    const upper = skein.task({ name: 'upper', fn: (s: string) => s.toUpperCase() });
    await (await skein.worker('w', { workflows: [upper] })).start();
    const caller = newClient();
    expect(await caller.run('upper', 'abc')).toBe('ABC');
    const ref = await caller.runNoWait<string>('upper', 'xyz');
    expect(await ref.result()).toBe('XYZ');
  });

  it('a name no worker registered rejects with NotFoundError naming it, and nothing runs', async () => {
    const { skein } = await env.client();
    const err = await skein.run('no-such-task', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain('no-such-task');
    await expect(skein.runNoWait('no-such-task', {})).rejects.toBeInstanceOf(NotFoundError);
    expect(await skein.runs.list()).toEqual([]);
  });

  it('skein.runRef(id) on a second client waits for a running run and reads a finished one', async () => {
    const { skein, newClient } = await env.client();
    const release = gate();
    const held = skein.task({
      name: 'held',
      fn: async (n: number) => {
        if (n === 1) await release.promise;
        return n * 100;
      },
    });
    await (await skein.worker('w', { workflows: [held] })).start();
    const other = newClient();

    const done = await held.runNoWait(2);
    await done.result();
    expect(await other.runRef<number>(done.runId).result()).toBe(200);

    const running = await held.runNoWait(1);
    const waiting = other.runRef<number>(running.runId).result();
    release.open();
    expect(await waiting).toBe(100);
  });

  // A wait left polling after close() kept the process alive for ever (found by the CLI).
  it('a wait on another client fails with ConnectionError when that client closes', async () => {
    const { skein, newClient } = await env.client();
    const release = gate();
    const held = skein.task({ name: 'held', fn: () => release.promise });
    await (await skein.worker('w', { workflows: [held] })).start();
    const other = newClient();
    const running = await held.runNoWait(undefined);
    // Caught before close() begins: a rejection left unhandled across it would be reported.
    const failed = other
      .runRef(running.runId)
      .result()
      .catch((err: unknown) => err);
    await other.close();
    const err = await failed;
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/closed before run '.*' ended/);
    release.open();
    await running.result();
  });
});

describe('idempotency key', () => {
  it('a second trigger with the same key returns the same run, which ran once', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const release = gate();
    const charge = skein.task({
      name: 'charge',
      fn: async (amount: number) => {
        executions++;
        await release.promise;
        return { charged: amount };
      },
    });
    await (await skein.worker('w', { workflows: [charge] })).start();

    const first = await charge.runNoWait(10, { key: 'order-1' });
    const second = await charge.runNoWait(10, { key: 'order-1' });
    expect(second.runId).toBe(first.runId);
    release.open();
    expect(await second.result()).toEqual({ charged: 10 });

    // After the run ended, the key still names it: run() returns its output without running again.
    expect(await charge.run(99, { key: 'order-1' })).toEqual({ charged: 10 });
    expect(executions).toBe(1);
    expect(await skein.runs.list({ name: 'charge' })).toHaveLength(1);

    const other = await charge.runNoWait(10, { key: 'order-2' });
    expect(other.runId).not.toBe(first.runId);
    await other.result();
    expect(executions).toBe(2);
  });

  it('every ref to one run resolves: two keyed triggers, and runNoWait plus runRef', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'twice-watched', fn: (n: number) => n + 1 });
    await (await skein.worker('w', { workflows: [task] })).start();
    const first = await task.runNoWait(1, { key: 'k' });
    const second = await task.runNoWait(1, { key: 'k' });
    expect(await Promise.all([first.result(), second.result()])).toEqual([2, 2]);
    const plain = await task.runNoWait(5);
    const again = skein.runRef<number>(plain.runId);
    expect(await Promise.all([plain.result(), again.result()])).toEqual([6, 6]);
  });
});
