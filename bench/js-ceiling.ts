/**
 * The raw JetStream ceiling on this machine: pipelined publishes of ~600-byte messages (about
 * the size of a no-op task's journal entry) to a file stream, a bounded number in flight, each
 * one acknowledged by the server once stored.
 *
 * Measured two ways:
 * - `raw`: core publish with a reply subject on one wildcard subscription, as the engine's
 *   Requester does (runtime/requester.ts) — the cheapest client path, so the server is the limit;
 * - `client`: the @nats-io/jetstream client's `js.publish()`, for reference.
 */
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { createInbox } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { deferred, watched } from './util.js';

export interface CeilingOptions {
  messages: number;
  size: number;
  window: number;
}

export interface CeilingResult {
  rawPerS: number;
  clientPerS: number;
  stored: number;
}

export async function measureJetStreamCeiling(
  url: string,
  opts: CeilingOptions,
): Promise<CeilingResult> {
  const nc = await connect({ servers: url, name: 'bench-ceiling', noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const stream = 'BENCH_CEILING';
  await jsm.streams.add({ name: stream, subjects: ['bench.ceiling.>'], storage: StorageType.File });
  const payload = randomBytes(opts.size);
  try {
    // Warm the connection and the stream's first block.
    await pipelinedRaw(nc, 'bench.ceiling.warm', payload, 2_000, opts.window);
    const rawPerS = await pipelinedRaw(
      nc,
      'bench.ceiling.raw',
      payload,
      opts.messages,
      opts.window,
    );
    const clientPerS = await pipelinedClient(
      nc,
      'bench.ceiling.client',
      payload,
      Math.min(opts.messages, 20_000),
      opts.window,
    );
    const info = await jsm.streams.info(stream);
    return { rawPerS, clientPerS, stored: info.state.messages };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.drain();
  }
}

type Conn = Awaited<ReturnType<typeof connect>>;

/** Core publishes with a reply subject; a new one goes out as each ack comes back. */
async function pipelinedRaw(
  nc: Conn,
  subject: string,
  payload: Uint8Array,
  messages: number,
  window: number,
): Promise<number> {
  const inbox = createInbox();
  const decoder = new TextDecoder();
  const done = deferred<void>();
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let firstError = '';
  const pump = () => {
    while (sent < messages && sent - acked < window)
      nc.publish(subject, payload, { reply: `${inbox}.${sent++}` });
  };
  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg) => {
      acked++;
      // A pub ack is small JSON; a refused publish carries "error".
      const text = decoder.decode(msg.data);
      if (text.includes('"error"')) {
        errors++;
        firstError ||= text;
      }
      if (acked === messages) done.resolve();
      else pump();
    },
  });
  const t0 = performance.now();
  pump();
  await watched(`JetStream ceiling (${subject})`, done.promise, () => acked, 15_000, 120_000);
  const seconds = (performance.now() - t0) / 1000;
  sub.unsubscribe();
  if (errors > 0) throw new Error(`${errors} publishes failed, first: ${firstError}`);
  return messages / seconds;
}

/** The client library's js.publish(), a bounded number of promises in flight. */
async function pipelinedClient(
  nc: Conn,
  subject: string,
  payload: Uint8Array,
  messages: number,
  window: number,
): Promise<number> {
  const js = jetstream(nc);
  let next = 0;
  let acked = 0;
  const lane = async () => {
    while (next < messages) {
      next++;
      await js.publish(subject, payload);
      acked++;
    }
  };
  const t0 = performance.now();
  await watched(
    `JetStream ceiling (${subject})`,
    Promise.all(Array.from({ length: window }, lane)),
    () => acked,
    15_000,
    120_000,
  );
  return messages / ((performance.now() - t0) / 1000);
}
