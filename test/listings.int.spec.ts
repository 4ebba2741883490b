/** Listings for the dashboard and the CLI: events.list (with the runs each started), rateLimits.list, concurrency.list. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from 'skein';
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

describe('events.list', () => {
  it('lists events newest first, with the runs each started, by key, since and limit', async () => {
    const { skein } = await env.client();
    const ship = skein.task({ name: 'ship', onEvents: ['order:placed'], fn: () => 'shipped' });
    const bill = skein.task({ name: 'bill', onEvents: ['order:placed'], fn: () => 'billed' });
    await (await skein.worker('w', { workflows: [ship, bill] })).start();

    const pushed: string[] = [];
    for (const n of [1, 2, 3]) {
      const meta = { additionalMetadata: { shop: `s${n}` } };
      pushed.push((await skein.events.push('order:placed', { n }, meta)).eventId);
    }
    pushed.push((await skein.events.push('user:joined', { name: 'ada' })).eventId);

    await vi.waitFor(async () => {
      const events = await skein.events.list();
      expect(events.map((e) => e.eventId)).toEqual([...pushed].reverse());
      expect(events.slice(1).every((e) => e.runIds.length === 2)).toBe(true);
    }, SOON);
    const [joined, third] = await skein.events.list();
    expect(joined).toMatchObject({ key: 'user:joined', payload: { name: 'ada' }, runIds: [] });
    expect(third).toMatchObject({
      eventId: pushed[2],
      key: 'order:placed',
      payload: { n: 3 },
      additionalMetadata: { shop: 's3' },
    });
    expect(third.at).toBeInstanceOf(Date);
    const started = await Promise.all(third.runIds.map((id) => skein.runs.get(id)));
    expect(started.map((r) => r.name).sort()).toEqual(['bill', 'ship']);
    expect(started.every((r) => r.input && (r.input as { n: number }).n === 3)).toBe(true);

    const placed = await skein.events.list({ key: 'order:placed' });
    expect(placed.map((e) => e.eventId)).toEqual([pushed[2], pushed[1], pushed[0]]);
    expect((await skein.events.list({ limit: 2 })).map((e) => e.eventId)).toEqual([
      pushed[3],
      pushed[2],
    ]);
    const since = (await skein.events.list({ key: 'order:placed', limit: 1 }))[0].at;
    const recent = await skein.events.list({ key: 'order:placed', since });
    expect(recent.map((e) => e.eventId)).toContain(pushed[2]);
    expect(recent.every((e) => e.at.getTime() >= since.getTime())).toBe(true);
    expect(await skein.events.list({ key: 'nobody:pushed' })).toEqual([]);

    await expect(skein.events.list({ keys: 'x' } as never)).rejects.toThrow(/'keys'/);
    await expect(skein.events.list({ limit: 0 })).rejects.toThrow(ValidationError);
  });
});

describe('rateLimits.list', () => {
  it('shows each upserted limit with the units used in its window', async () => {
    const { skein } = await env.client();
    await skein.rateLimits.upsert({ key: 'api', limit: 10, duration: 'minute' });
    await skein.rateLimits.upsert({ key: 'idle', limit: 3, duration: 'second' });
    const call = skein.task({
      name: 'call',
      rateLimits: [{ staticKey: 'api', units: 2 }],
      fn: () => 'ok',
    });
    await (await skein.worker('w', { workflows: [call] })).start();
    await call.run({});
    await call.run({});

    await vi.waitFor(async () => {
      const limits = await skein.rateLimits.list();
      expect(limits.map((l) => l.key)).toEqual(['api', 'idle']);
      expect(limits[0]).toMatchObject({ key: 'api', limit: 10, durationMs: 60_000, used: 4 });
    }, SOON);
    const [api, idle] = await skein.rateLimits.list();
    expect(api.windowEndsAt!.getTime()).toBeGreaterThan(Date.now());
    expect(api.windowEndsAt!.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(idle).toEqual({ key: 'idle', limit: 3, durationMs: 1000, used: 0, windowEndsAt: null });
  });
});

describe('concurrency.list', () => {
  it('shows each key of a limit with the runs holding and waiting for its slots', async () => {
    const { skein } = await env.client();
    const hold = gate();
    const serve = skein.task({
      name: 'serve',
      concurrency: { expression: 'input.customer', maxRuns: 1 },
      fn: async () => (await hold.promise, 'served'),
    });
    await (await skein.worker('w', { workflows: [serve], slots: 5 })).start();
    const first = await serve.runNoWait({ customer: 'c7' });
    await vi.waitFor(async () => {
      const [c7] = await skein.concurrency.list();
      expect(c7?.holders).toEqual([first.runId]);
    }, SOON);
    const second = await serve.runNoWait({ customer: 'c7' });
    const other = await serve.runNoWait({ customer: 'c8' });

    await vi.waitFor(async () => {
      expect(await skein.concurrency.list()).toEqual([
        {
          group: 'serve',
          key: 'c7',
          maxRuns: 1,
          strategy: 'GROUP_ROUND_ROBIN',
          holders: [first.runId],
          waiters: [second.runId],
        },
        {
          group: 'serve',
          key: 'c8',
          maxRuns: 1,
          strategy: 'GROUP_ROUND_ROBIN',
          holders: [other.runId],
          waiters: [],
        },
      ]);
    }, SOON);

    hold.open();
    await Promise.all([first.result(), second.result(), other.result()]);
    await vi.waitFor(async () => {
      const keys = await skein.concurrency.list();
      expect(keys.map((k) => [k.key, k.holders, k.waiters])).toEqual([
        ['c7', [], []],
        ['c8', [], []],
      ]);
    }, SOON);
  });
});
