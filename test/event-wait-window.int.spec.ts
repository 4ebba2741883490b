/**
 * Which events an event wait sees: those stored (by their JetStream timestamp) from when the
 * wait began, or from its `since`, whatever time the publisher wrote into the event.
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { waitForHistory } from './support/history.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const HOUR = 3_600_000;

describe('an event wait', () => {
  it('sees the events stored after it began, by the stream’s time, not the publisher’s clock', async () => {
    const { skein, namespace } = await env.client();
    const nc = await connect({ servers: env.url });
    const js = jetstream(nc);
    // A publisher whose clock is wrong: an hour ahead, then an hour behind.
    const publish = (payload: unknown, at: number) => {
      const eventId = randomUUID();
      const event = { eventId, key: 'config:ready', payload, additionalMetadata: {}, at };
      return js.publish(names(namespace).eventSubject('config:ready'), encode(event), {
        msgID: eventId,
      });
    };
    try {
      const task = skein.durableTask({
        name: 'config-waiter',
        fn: (_input, ctx) => ctx.waitForEvent('config:ready'),
      });
      await (await skein.worker('w', { workflows: [task] })).start();
      await publish({ v: 'before the wait' }, Date.now() + HOUR);
      const ref = await task.runNoWait({});
      await waitForHistory(skein, ref.runId, 'DurableWaitStarted', { timeout: 15_000 });
      await publish({ v: 'after it began' }, Date.now() - HOUR);
      expect(await ref.result()).toEqual({ v: 'after it began' });
    } finally {
      await nc.close();
    }
  });
});
