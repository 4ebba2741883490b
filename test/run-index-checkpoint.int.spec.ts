/** The run index's checkpoint read back as written, and one written before it was streamed in slices. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { encode, encodeTable } from '../runtime/codec.js';
import { loadCheckpoint, saveCheckpoint } from '../runtime/run-index/checkpoint.js';
import type { IndexedRun } from '../runtime/run-index/fold.js';
import { startNatsServer } from './support/nats-server.js';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let bucket = 0;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc.close();
  await server.stop();
});

const store = (): Promise<ObjectStore> => new Objm(nc).create(`ckpt${++bucket}`);

const records = (n: number): IndexedRun[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    name: `task-${i % 3}`,
    kind: 'task',
    status: i % 2 ? 'COMPLETED' : 'QUEUED',
    createdAt: 1_000 + i,
    additionalMetadata: { tenant: `t${i % 5}` },
    workerIds: i % 2 ? ['w1'] : [],
    tasks: { t: { attempt: 1 } },
    failedAttempts: 0,
    journalSeqs: [i + 1],
  }));

describe('run index checkpoint', () => {
  it('reads back every record and the sequence it was taken at', async () => {
    const objects = await store();
    const runs = records(2_500);
    const bytes = await saveCheckpoint(objects, 4_321, runs);
    expect((await objects.info('checkpoint'))?.size).toBe(bytes);
    const read = await loadCheckpoint(objects);
    expect(read?.seq).toBe(4_321);
    expect(read?.runs).toEqual(runs);
  });

  it('reads one stored whole (layout 3, before slices were streamed)', async () => {
    const objects = await store();
    const runs = records(1_200);
    const slices = [encodeTable(runs.slice(0, 1_000)), encodeTable(runs.slice(1_000))];
    await objects.putBlob({ name: 'checkpoint' }, encode({ layout: 3, seq: 77, slices }));
    expect(await loadCheckpoint(objects)).toEqual({ seq: 77, runs });
  });

  it('ignores one cut short or of another layout (the journal is then read whole)', async () => {
    const objects = await store();
    await saveCheckpoint(objects, 5, records(1_500));
    const whole = await objects.getBlob('checkpoint');
    await objects.putBlob({ name: 'checkpoint' }, whole!.subarray(0, whole!.length - 10));
    expect(await loadCheckpoint(objects)).toBeUndefined();
    await objects.putBlob({ name: 'checkpoint' }, encode({ layout: 9, seq: 5, slices: [] }));
    expect(await loadCheckpoint(objects)).toBeUndefined();
  });
});
