/** Events trigger the tasks and workflows that declare them in `onEvents`, and satisfy scoped waits. */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { UserEventCondition, ValidationError, type Skein } from 'skein';
import { names } from '../runtime/protocol.js';
import { objectStream } from '../runtime/subjects.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const runsOfEvent = (skein: Skein, eventId: string) =>
  skein.runs.list({ additionalMetadata: { skein__event_id: eventId } });

async function finished(skein: Skein, eventId: string, count: number) {
  return vi.waitFor(
    async () => {
      const runs = await runsOfEvent(skein, eventId);
      expect(runs).toHaveLength(count);
      for (const r of runs) expect(['COMPLETED', 'FAILED']).toContain(r.status);
      return runs;
    },
    { timeout: 10_000, interval: 100 },
  );
}

describe('onEvents', () => {
  it('runs every task and workflow whose onEvents match the key (exact or prefix:*), with the payload as input', async () => {
    const { skein } = await env.client();
    const seen: Record<string, string>[] = [];
    const onCreated = skein.task({
      name: 'on-created',
      onEvents: ['order:created'],
      fn: (input: { orderId: number }, ctx) => {
        seen.push({ ...ctx.additionalMetadata, priority: String(ctx.priority) });
        return { charged: input.orderId };
      },
    });
    const audit = skein.workflow<{ orderId: number }>({ name: 'audit', onEvents: ['order:*'] });
    audit.task({ name: 'log', fn: (input) => `order ${input.orderId}` });
    const other = skein.task({ name: 'on-user', onEvents: ['user:created'], fn: () => 'no' });
    await (await skein.worker('w', { workflows: [onCreated, audit, other] })).start();

    const { eventId } = await skein.events.push(
      'order:created',
      { orderId: 42 },
      { additionalMetadata: { source: 'shop' }, priority: 3 },
    );
    const runs = await finished(skein, eventId, 2);
    const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
    expect(byName['on-created']).toMatchObject({
      status: 'COMPLETED',
      input: { orderId: 42 },
      output: { charged: 42 },
    });
    expect(byName['audit']).toMatchObject({ status: 'COMPLETED', output: { log: 'order 42' } });
    expect(seen).toEqual([
      {
        source: 'shop',
        skein__event_id: eventId,
        skein__event_key: 'order:created',
        priority: '3',
      },
    ]);

    const paid = await skein.events.push('order:paid', { orderId: 43 });
    expect((await finished(skein, paid.eventId, 1)).map((r) => r.name)).toEqual(['audit']);
    expect(await skein.runs.list({ name: 'on-user' })).toEqual([]);
  });

  it('fans one event out to several subscribers and bulk-pushed events each trigger', async () => {
    const { skein } = await env.client();
    const subscribers = Array.from({ length: 5 }, (_, i) =>
      skein.task({
        name: `sub-${i}`,
        onEvents: ['tick'],
        fn: (input: { n: number }) => input.n * i,
      }),
    );
    await (await skein.worker('w', { workflows: subscribers })).start();
    const { eventIds } = await skein.events.bulkPush('tick', [
      { payload: { n: 1 } },
      { payload: { n: 2 } },
    ]);
    for (const id of eventIds) expect(await finished(skein, id, 5)).toHaveLength(5);
  });

  it('triggers once for an event id pushed twice, and once again after the router re-reads every event', async () => {
    const { skein, namespace, startEngine, engine } = await env.client();
    const counted = skein.task({ name: 'counted', onEvents: ['signup'], fn: () => 'hi' });
    await (await skein.worker('w', { workflows: [counted] })).start();

    await skein.events.push('signup', { user: 'ada' }, { eventId: 'signup-ada' });
    await skein.events.push('signup', { user: 'ada' }, { eventId: 'signup-ada' });
    const marker = await skein.events.push('signup', { user: 'marker' });
    await finished(skein, marker.eventId, 1);
    await finished(skein, 'signup-ada', 1);

    // Route every stored event again, as a new leader would after losing the router's acks.
    await engine.stop();
    const nc = await connect({ servers: env.url });
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(names(namespace).streams.events, 'router');
    await nc.close();
    await startEngine();
    const after = await skein.events.push('signup', { user: 'after' });
    await finished(skein, after.eventId, 1);
    expect(await runsOfEvent(skein, 'signup-ada')).toHaveLength(1);
    expect(await runsOfEvent(skein, marker.eventId)).toHaveLength(1);
    expect(await skein.runs.list({ name: 'counted' })).toHaveLength(3);
  });

  it("fails the run, not the push, when the payload fails the target's inputValidator", async () => {
    const { skein } = await env.client();
    const strict = skein.task({
      name: 'strict',
      onEvents: ['order:placed'],
      inputValidator: z.object({ orderId: z.number() }),
      fn: (input) => input.orderId,
    });
    await (await skein.worker('w', { workflows: [strict] })).start();
    const { eventId } = await skein.events.push('order:placed', { orderId: 'not a number' });
    const [run] = await finished(skein, eventId, 1);
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0].error).toMatch(/input of 'strict' is invalid: orderId/);
    expect(run.tasks[0].attempts).toBe(1);
  });

  it('refuses an oversize payload, an empty key and a bad event id at the push', async () => {
    const { skein } = await env.client({ skein: { maxPayloadBytes: 500_000 } });
    await expect(skein.events.push('big', { blob: 'x'.repeat(600_000) })).rejects.toThrow(
      /event payload is \d+ bytes encoded, over the limit of 500000 bytes \(maxPayloadBytes\)/,
    );
    await expect(skein.events.push('  ', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.events.push('k', {}, { eventId: 'a b' })).rejects.toThrow(/eventId must/);
  });

  it('keeps events as long as the engine is told to', async () => {
    const { namespace } = await env.client({ engine: { eventRetentionDays: 2 } });
    const nc = await connect({ servers: env.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(names(namespace).streams.events);
    // Large payloads of events are kept an hour longer, for a run that copies one late.
    const objects = await jsm.streams.info(objectStream(names(namespace).buckets.eventPayloads));
    await nc.close();
    expect(info.config.max_age).toBe(2 * 24 * 3600 * 1e9);
    expect(objects.config.max_age).toBe((2 * 24 + 1) * 3600 * 1e9);
  });

  it('refuses a bad onEvents pattern at declaration', async () => {
    const { skein } = await env.client();
    expect(() => skein.task({ name: 'bad', onEvents: ['order:*:paid'], fn: () => 1 })).toThrow(
      ValidationError,
    );
  });
});

describe('event scope', () => {
  it('satisfies a scoped condition only with an event of that scope', async () => {
    const { skein } = await env.client();
    const scoped = skein.workflow({ name: 'scoped' });
    scoped.task({
      name: 'go_a',
      waitFor: new UserEventCondition('decision', '', undefined, { scope: 'tenant-a' }),
      fn: () => 'a',
    });
    const any = skein.workflow({ name: 'any' });
    any.task({ name: 'go_any', waitFor: { eventKey: 'decision' }, fn: () => 'any' });
    await (await skein.worker('w', { workflows: [scoped, any] })).start();
    const a = await scoped.runNoWait({});
    const b = await any.runNoWait({});
    const waiting = async (runId: string) =>
      (await skein.runs.history(runId)).some((e) => e.type === 'TaskWaiting');
    await vi.waitFor(
      async () => expect((await waiting(a.runId)) && (await waiting(b.runId))).toBe(true),
      SOON,
    );

    await skein.events.push('decision', {}, { scope: 'tenant-b' });
    await skein.events.push('decision', {});
    expect(await b.result()).toEqual({ go_any: 'any' });
    // Both waits heard those events in the same routing step: the scoped one let them pass.
    expect((await skein.runs.history(a.runId)).map((e) => e.type)).not.toContain('ConditionMet');

    await skein.events.push('decision', {}, { scope: 'tenant-a' });
    expect(await a.result()).toEqual({ go_a: 'a' });
  });
});
