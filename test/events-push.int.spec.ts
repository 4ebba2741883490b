/** skein.events.push / bulkPush: stored before they resolve, refused clearly when bad. */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from 'skein';
import { decode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

async function storedEvents(namespace: string, key: string) {
  const nc = await connect({ servers: env.url });
  try {
    const jsm = await jetstreamManager(nc);
    const n = names(namespace);
    const out = [];
    for (let seq = 1; ;) {
      const m = await jsm.direct.getMessage(n.streams.events, {
        seq,
        next_by_subj: n.eventSubject(key),
      });
      if (!m) return out;
      out.push(
        decode<{
          eventId: string;
          key: string;
          payload: unknown;
          additionalMetadata: Record<string, string>;
        }>(m.data),
      );
      seq = m.seq + 1;
    }
  } finally {
    await nc.close();
  }
}

describe('events', () => {
  it('stores a pushed event before the call resolves, with its id, key, payload and metadata', async () => {
    const { skein, namespace } = await env.client();
    const { eventId } = await skein.events.push(
      'order:paid',
      { orderId: 7 },
      { additionalMetadata: { source: 'shop' } },
    );
    expect(await storedEvents(namespace, 'order:paid')).toEqual([
      expect.objectContaining({
        eventId,
        key: 'order:paid',
        payload: { orderId: 7 },
        additionalMetadata: { source: 'shop' },
      }),
    ]);
  });

  it('bulk-pushes several events and returns their ids in order', async () => {
    const { skein, namespace } = await env.client();
    const { eventIds } = await skein.events.bulkPush('user:signed-up', [
      { payload: { n: 1 } },
      { payload: { n: 2 } },
    ]);
    const stored = await storedEvents(namespace, 'user:signed-up');
    expect(stored.map((e) => e.eventId)).toEqual(eventIds);
    expect(stored.map((e) => e.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('refuses an empty key, a payload JSON cannot carry, and bad metadata, storing nothing', async () => {
    const { skein, namespace } = await env.client();
    await expect(skein.events.push('', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.events.push('k', { f: () => 1 })).rejects.toThrow(
      /payload\.f is a function/,
    );
    await expect(
      skein.events.push('k', {}, { additionalMetadata: { n: 1 } as never }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      skein.events.bulkPush('k', [{ payload: 1 }, { payload: 10n }]),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await storedEvents(namespace, 'k')).toEqual([]);
    await skein.events.push('k', { ok: true });
    expect(await storedEvents(namespace, 'k')).toHaveLength(1);
  });
});
