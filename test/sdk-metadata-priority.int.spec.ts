/** additionalMetadata (merged with the declaration's defaults) and priorities, against a real engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Priority, ValidationError } from 'skein';
import { gate } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('additionalMetadata', () => {
  it('merges trigger metadata over defaultAdditionalMetadata; ctx and runs.get both show it', async () => {
    const { skein } = await env.client();
    const tagged = skein.task({
      name: 'tagged',
      defaultAdditionalMetadata: { team: 'billing', env: 'test' },
      fn: (_: unknown, ctx) => ctx.additionalMetadata,
    });
    await (await skein.worker('w', { workflows: [tagged] })).start();

    const ref = await tagged.runNoWait(
      {},
      { additionalMetadata: { env: 'prod', customer: 'c-42' } },
    );
    const expected = { team: 'billing', env: 'prod', customer: 'c-42' };
    expect(await ref.result()).toEqual(expected);
    expect((await skein.runs.get(ref.runId)).additionalMetadata).toEqual(expected);

    expect(await tagged.run({})).toEqual({ team: 'billing', env: 'test' });
  });

  it('non-string metadata values reject with ValidationError naming the key; nothing is stored', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'meta', fn: (_: unknown, ctx) => ctx.additionalMetadata });
    await (await skein.worker('w', { workflows: [task] })).start();

    const bad = [{ count: 3 }, { nested: { a: 'b' } }, { flag: true }, { none: null }];
    for (const meta of bad) {
      const err = await task
        .run({}, { additionalMetadata: meta as unknown as Record<string, string> })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain(Object.keys(meta)[0]);
    }
    await expect(
      task.run({}, { additionalMetadata: ['x'] as unknown as Record<string, string> }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await skein.runs.list()).toEqual([]);

    expect(await task.run({}, { additionalMetadata: { ok: 'yes' } })).toEqual({ ok: 'yes' });
  });

  it('a trigger by name also applies the declaration’s defaultAdditionalMetadata', async () => {
    const { skein } = await env.client();
    const tagged = skein.task({
      name: 'tagged-by-name',
      defaultAdditionalMetadata: { team: 'billing' },
      fn: (_: unknown, ctx) => ctx.additionalMetadata,
    });
    await (await skein.worker('w', { workflows: [tagged] })).start();
    expect(
      await skein.run('tagged-by-name', {}, { additionalMetadata: { customer: 'c-1' } }),
    ).toEqual({ team: 'billing', customer: 'c-1' });
  });
});

describe('priority', () => {
  it('a HIGH run queued after LOW ones starts before them on a busy one-slot worker', async () => {
    const { skein } = await env.client();
    const started: string[] = [];
    const blockerStarted = gate();
    const releaseBlocker = gate();
    const job = skein.task({
      name: 'job',
      fn: async (label: string, ctx) => {
        started.push(`${label}@${ctx.priority}`);
        if (label === 'blocker') {
          blockerStarted.open();
          await releaseBlocker.promise;
        }
        return label;
      },
    });
    await (await skein.worker('w', { workflows: [job], slots: 1 })).start();

    const blocker = await job.runNoWait('blocker');
    await blockerStarted.promise;
    const lows = [];
    for (const label of ['low1', 'low2', 'low3'])
      lows.push(await job.runNoWait(label, { priority: Priority.LOW }));
    const high = await job.runNoWait('high', { priority: Priority.HIGH });
    releaseBlocker.open();

    await Promise.all([blocker, ...lows, high].map((r) => r.result()));
    expect(started).toEqual(['blocker@1', 'high@3', 'low1@1', 'low2@1', 'low3@1']);
  });

  it('MEDIUM goes between HIGH and LOW, and defaultPriority applies when the trigger gives none', async () => {
    const { skein } = await env.client();
    const started: string[] = [];
    const blockerStarted = gate();
    const releaseBlocker = gate();
    const urgent = skein.task({
      name: 'urgent',
      defaultPriority: Priority.HIGH,
      fn: (label: string, ctx) => void started.push(`${label}@${ctx.priority}`),
    });
    const normal = skein.task({
      name: 'normal',
      fn: async (label: string, ctx) => {
        started.push(`${label}@${ctx.priority}`);
        if (label === 'blocker') {
          blockerStarted.open();
          await releaseBlocker.promise;
        }
      },
    });
    await (await skein.worker('w', { workflows: [urgent, normal], slots: 1 })).start();

    const refs = [await normal.runNoWait('blocker')];
    await blockerStarted.promise;
    refs.push(await normal.runNoWait('low'));
    refs.push(await normal.runNoWait('medium', { priority: Priority.MEDIUM }));
    refs.push(await urgent.runNoWait('urgent-default'));
    refs.push(await urgent.runNoWait('urgent-lowered', { priority: Priority.LOW }));
    releaseBlocker.open();
    await Promise.all(refs.map((r) => r.result()));
    expect(started).toEqual([
      'blocker@1',
      'urgent-default@3',
      'medium@2',
      'low@1',
      'urgent-lowered@1',
    ]);
  });

  it('a trigger by name uses the registered defaultPriority', async () => {
    const { skein, newClient } = await env.client();
    const urgent = skein.task({
      name: 'urgent',
      defaultPriority: Priority.MEDIUM,
      fn: (_: unknown, ctx) => ctx.priority,
    });
    await (await skein.worker('w', { workflows: [urgent] })).start();
    expect(await newClient().run('urgent', {})).toBe(2);
    expect(await newClient().run('urgent', {}, { priority: Priority.HIGH })).toBe(3);
  });

  it('priority 0, 4 or 1.5 rejects with ValidationError; defaultPriority out of range fails the declaration', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'p', fn: (_: unknown, ctx) => ctx.priority });
    await (await skein.worker('w', { workflows: [task] })).start();
    for (const priority of [0, 4, 1.5]) {
      const err = await task.run({}, { priority }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/priority/);
    }
    expect(() => skein.task({ name: 'q', defaultPriority: 4, fn: () => 1 })).toThrow(
      /defaultPriority/,
    );
    expect(() => skein.task({ name: 'q', defaultPriority: 0, fn: () => 1 })).toThrow(
      ValidationError,
    );
    expect(await skein.runs.list()).toEqual([]);
    expect(await task.run({}, { priority: Priority.MEDIUM })).toBe(2);
  });
});
