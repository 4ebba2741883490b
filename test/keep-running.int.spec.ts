/**
 * The leader's consumers and the mailbox partitions' come back on their own: a consumer
 * deleted behind the engine's back (as a cluster losing a node may leave it) is made again and
 * read, so durable sleeps still wake and their runs go on.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { names, PARTITIONS } from '../runtime/protocol.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env?.stop();
});

/** Starts sleeps of `sleepMs`, waits until they all sleep, calls `meanwhile`, returns the results. */
async function sleepsAcross(meanwhile: (namespace: string) => Promise<void>, sleepMs = 3_000) {
  const { skein, namespace } = await env.client();
  const sleeping = new Set<string>();
  const task = skein.durableTask<void>({
    name: 'sleeper',
    fn: async (_input, ctx) => {
      sleeping.add(ctx.runId);
      await ctx.sleepFor(sleepMs);
      return 'awake';
    },
  });
  await (await skein.worker('w', { workflows: [task], durableSlots: 20 })).start();
  const refs = await task.runManyNoWait(Array.from({ length: 10 }, () => ({ input: undefined })));
  await vi.waitFor(() => expect(sleeping.size).toBe(10), { timeout: 20_000 });
  await meanwhile(namespace);
  return Promise.all(refs.map((r) => r.result()));
}

async function deleteConsumers(
  namespace: string,
  stream: keyof ReturnType<typeof names>['streams'],
  consumers: string[],
) {
  const nc = await connect({ servers: env.url });
  try {
    const jsm = await jetstreamManager(nc);
    for (const c of consumers) await jsm.consumers.delete(names(namespace).streams[stream], c);
  } finally {
    await nc.close();
  }
}

describe('consumers deleted behind the engine', () => {
  it('the timers consumer: sleeps still wake', async () => {
    const results = await sleepsAcross((ns) => deleteConsumers(ns, 'timers', ['timers']));
    expect(results).toEqual(Array(10).fill('awake'));
  }, 60_000);

  it('every mailbox partition consumer: the woken runs still go on', async () => {
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => `p${p}`);
    const results = await sleepsAcross((ns) => deleteConsumers(ns, 'inbox', partitions));
    expect(results).toEqual(Array(10).fill('awake'));
  }, 60_000);
});
