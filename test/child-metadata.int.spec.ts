/**
 * Child runs inherit their parent's additionalMetadata (their own keys win; `skein__` keys such
 * as the triggering event's id stay with the parent), so one metadata filter finds a whole tree.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

type Meta = Record<string, string>;

/** A child that reports its metadata, and a middle task that starts it (a grandchild). */
function declareKids(skein: Skein) {
  const kid = skein.task({
    name: 'kid',
    defaultAdditionalMetadata: { tier: 'kid' },
    fn: (_input: unknown, ctx): Meta => ctx.additionalMetadata,
  });
  const mid = skein.task({
    name: 'mid',
    fn: async (_input: unknown, ctx) => ({ mid: ctx.additionalMetadata, kid: await kid.run({}) }),
  });
  return { kid, mid };
}

const treeOf = async (skein: Skein, tenant: string) =>
  (await skein.runs.list({ additionalMetadata: { tenant } })).map((r) => r.name).sort();

describe('metadata of child runs', () => {
  it('every way a task starts a child passes its metadata on, but not its skein__ keys', async () => {
    const { skein } = await env.client();
    const { kid, mid } = declareKids(skein);
    const parent = skein.task({
      name: 'parent',
      onEvents: ['order:created'],
      fn: async (_input: unknown, ctx) => ({
        own: ctx.additionalMetadata,
        run: await kid.run({}),
        runNoWait: await (
          await kid.runNoWait({}, { additionalMetadata: { tenant: 'other' } })
        ).result(),
        runMany: await kid.runMany([kid.createBulkRunItem({})]),
        runManyNoWait: await Promise.all(
          (await kid.runManyNoWait([kid.createBulkRunItem({})])).map((r) => r.result()),
        ),
        byName: await skein.run('mid', {}),
      }),
    });
    await (await skein.worker('w', { workflows: [parent, kid, mid], slots: 10 })).start();
    const { eventId } = await skein.events.push(
      'order:created',
      {},
      { additionalMetadata: { tenant: 'acme', tier: 'parent' } },
    );
    const run = await vi.waitFor(
      async () => {
        const [done] = await skein.runs.list({ name: 'parent', status: 'COMPLETED' });
        expect(done).toBeDefined();
        return done;
      },
      { timeout: 20_000, interval: 100 },
    );
    const out = run.output as Record<string, unknown>;
    const inherited = { tenant: 'acme', tier: 'kid' };
    expect(out.own).toMatchObject({ tenant: 'acme', tier: 'parent', skein__event_id: eventId });
    expect(out.run).toEqual(inherited);
    expect(out.runNoWait).toEqual({ tenant: 'other', tier: 'kid' });
    expect(out.runMany).toEqual([inherited]);
    expect(out.runManyNoWait).toEqual([inherited]);
    expect(out.byName).toEqual({ mid: { tenant: 'acme', tier: 'parent' }, kid: inherited });
    expect(await treeOf(skein, 'acme')).toEqual(['kid', 'kid', 'kid', 'kid', 'mid', 'parent']);
  });

  it('every way a durable task starts a child passes its metadata on', async () => {
    const { skein } = await env.client();
    const { kid, mid } = declareKids(skein);
    const parent = skein.durableTask({
      name: 'durable-parent',
      fn: async (_input: unknown, ctx) => {
        const run = await kid.run({});
        const ref = await kid.runNoWait({});
        const runMany = await kid.runMany([kid.createBulkRunItem({})]);
        const refs = await kid.runManyNoWait([kid.createBulkRunItem({})]);
        await ctx.sleepFor('10ms');
        return {
          run,
          runNoWait: await ref.result(),
          runMany,
          runManyNoWait: await Promise.all(refs.map((r) => r.result())),
          byName: await skein.run('mid', {}),
        };
      },
    });
    await (await skein.worker('w', { workflows: [parent, kid, mid], slots: 10 })).start();
    const out = await parent.run({}, { additionalMetadata: { tenant: 'globex', tier: 'parent' } });
    const inherited = { tenant: 'globex', tier: 'kid' };
    expect(out).toEqual({
      run: inherited,
      runNoWait: inherited,
      runMany: [inherited],
      runManyNoWait: [inherited],
      byName: { mid: { tenant: 'globex', tier: 'parent' }, kid: inherited },
    });
    expect(await treeOf(skein, 'globex')).toEqual([
      'durable-parent',
      'kid',
      'kid',
      'kid',
      'kid',
      'kid',
      'mid',
    ]);
  });
});
