/**
 * Object store reads and writes end: an object whose chunks are gone (purged before its
 * metadata) left the object store's client waiting forever; now the read fails with a
 * ConnectionError naming the object and its run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionError } from '../runtime/errors.js';
import { PayloadRef } from '../runtime/payload-ref.js';
import { Payloads } from '../runtime/payloads.js';
import { names, objectChunkSubject, objectMetaSubject, objectStream } from '../runtime/subjects.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
let nc: NatsConnection;
beforeAll(async () => {
  env = await startSkeinEnv();
  nc = await connect({ servers: env.url });
});
afterAll(async () => {
  await nc?.close();
  await env.stop();
});

describe('object store waits', () => {
  it('a read of an object whose chunks are gone fails with a ConnectionError naming it and its run', async () => {
    const { namespace } = await env.client();
    const n = names(namespace);
    const payloads = new Payloads(jetstream(nc), n, 64 * 1024 * 1024, 1024 * 1024, 500);
    const ref = await payloads.offload('x'.repeat(300 * 1024), { runId: 'run-1' }, 'input');
    expect(ref).toBeInstanceOf(PayloadRef);
    await expect(payloads.read(ref as PayloadRef)).resolves.toHaveLength(300 * 1024);

    const jsm = await jetstreamManager(nc);
    const bucket = n.buckets.payloads;
    const stream = objectStream(bucket);
    const meta = await jsm.direct.getMessage(stream, {
      last_by_subj: objectMetaSubject(bucket, (ref as PayloadRef).name),
    });
    const { nuid } = meta!.json<{ nuid: string }>();
    await jsm.streams.purge(stream, { filter: objectChunkSubject(bucket, nuid) });

    const read = payloads.read(ref as PayloadRef);
    await expect(read).rejects.toThrow(ConnectionError);
    await expect(read).rejects.toThrow(
      new RegExp(
        `reading the stored payload '${(ref as PayloadRef).name}' \\(of run or event 'run-1'\\)`,
      ),
    );
  }, 20_000);
});
