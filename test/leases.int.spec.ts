/**
 * When a lease renewal fails (runtime/leases.ts). The bucket taking no writes for a moment (a
 * 3-node cluster whose node leading the bucket is SIGKILLed) keeps the lease; the bucket naming
 * another holder ends it at once; a renewal overdue for long ends it before the bucket's TTL
 * could hand it to another engine. On the single server, the engine's connection goes through
 * a TCP proxy that can hold its bytes (a connection that stays up but is silent); the test's
 * own connection is direct.
 */
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEADER, LEASE_TTL_MS, Leases } from '../runtime/leases.js';
import { EnginePresence } from '../runtime/liveness.js';
import { names } from '../runtime/protocol.js';
import {
  startNatsCluster,
  startNatsServer,
  type NatsClusterHandle,
  type NatsServerHandle,
} from './support/nats-server.js';
import { SOON } from './support/patience.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

const RENEW_EVERY_MS = 200;
/** The engine's KV requests give up after this, so a held connection fails renewals quickly. */
const REQUEST_TIMEOUT_MS = 1_000;
const PARTITION = 'p.0';

let server: NatsServerHandle;
let proxy: TcpProxy;
let direct: NatsConnection;
let engineNc: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  proxy = await startTcpProxy({ port: server.port });
  direct = await connect({ servers: server.url });
  engineNc = await connect({ servers: proxy.url, maxReconnectAttempts: -1 });
});
afterAll(async () => {
  await engineNc?.close();
  await direct?.close();
  await proxy?.close();
  await server?.stop();
});

interface Rig {
  ns: string;
  leases: Leases;
  /** The bucket, read and written by the test without the proxy. */
  bucket: KV;
  released: { lease: string; at: number; lastWrite?: number }[];
  logs: string[];
}

let stopLeases: (() => Promise<void>) | undefined;
afterEach(async () => {
  proxy.heal();
  await stopLeases?.();
  stopLeases = undefined;
});

/** A leases bucket of a fresh namespace, made on the test's own connection. */
async function makeBucket(test = direct, replicas = 1) {
  const ns = `lt${randomUUID().slice(0, 8)}`;
  const bucketName = names(ns).buckets.leases;
  const bucket = await new Kvm(test).create(bucketName, {
    ttl: LEASE_TTL_MS,
    history: 1,
    replicas,
  });
  return { ns, bucket, replicas, stream: `KV_${bucketName}` };
}

/** One engine's leases (one partition and the leader), on its own connection. */
async function startLeases(
  made?: Awaited<ReturnType<typeof makeBucket>>,
  engine = engineNc,
  partitions = 1,
): Promise<Rig> {
  const { ns, bucket, replicas } = made ?? (await makeBucket());
  // Opened as the engine opens it (runtime/setup.ts): reads are direct gets, which any replica
  // answers, while writes need the stream's leader.
  const kv = await new Kvm(jetstream(engine, { timeout: REQUEST_TIMEOUT_MS })).create(
    names(ns).buckets.leases,
    { ttl: LEASE_TTL_MS, history: 1, replicas, timeout: REQUEST_TIMEOUT_MS },
  );
  const rig: Rig = { ns, bucket, released: [], logs: [], leases: undefined as unknown as Leases };
  const logger = pino({ level: 'info' }, { write: (line: string) => void rig.logs.push(line) });
  rig.leases = new Leases(
    kv,
    'engine-a',
    partitions,
    {
      acquired: () => undefined,
      released: async (lease) => {
        const at = Date.now();
        // When the bucket last heard from the holder: the lease is free to others TTL after it.
        const entry = await bucket.get(lease).catch(() => null);
        rig.released.push({ lease, at, lastWrite: entry?.created.getTime() });
      },
    },
    logger,
    new EnginePresence(engine, names(ns), randomUUID()),
    RENEW_EVERY_MS,
  );
  await rig.leases.start();
  stopLeases = () => rig.leases.stop();
  await expect.poll(() => rig.leases.holds(LEADER) && rig.leases.holds(PARTITION), SOON).toBe(true);
  return rig;
}

const revisionOf = async (bucket: KV, lease: string) => (await bucket.get(lease))?.revision ?? 0;

describe('lease renewal on one server', () => {
  it('gives a lease up at once when the bucket names another holder', async () => {
    const rig = await startLeases();
    // Another live engine took it (its presence answers, so it is not taken back from it).
    const other = new EnginePresence(direct, names(rig.ns), randomUUID());
    await other.start();
    try {
      await rig.bucket.put(PARTITION, JSON.stringify({ id: 'engine-b', instance: other.instance }));
      await expect.poll(() => rig.released.map((r) => r.lease), SOON).toEqual([PARTITION]);
      expect(rig.leases.holds(PARTITION)).toBe(false);
      expect(rig.leases.holds(LEADER)).toBe(true);
    } finally {
      other.stop();
    }
  });

  it('gives every lease up once renewal is overdue, before the bucket could hand it on', async () => {
    const rig = await startLeases();
    const silentFrom = Date.now();
    proxy.set('hold');
    await expect
      .poll(() => rig.released.map((r) => r.lease).sort(), { ...SOON, timeout: LEASE_TTL_MS * 2 })
      .toEqual([LEADER, PARTITION].sort());
    for (const r of rig.released) {
      expect(r.lastWrite).toBeDefined();
      // Not at the first failed renewal (the requests time out within a second or two)...
      expect(r.at - silentFrom).toBeGreaterThan(LEASE_TTL_MS / 2);
      // ...but while the bucket still names this engine: no other engine can hold it yet.
      expect(r.at).toBeLessThan(r.lastWrite! + LEASE_TTL_MS);
    }
    expect(rig.leases.holds(LEADER) || rig.leases.holds(PARTITION)).toBe(false);
    // Back in touch: a renewal held on the way lands, and the entries name it again, so it takes
    // them back by their revision, well before they would expire (TTL after that write).
    proxy.heal();
    await expect
      .poll(() => rig.leases.holds(LEADER) && rig.leases.holds(PARTITION), {
        ...SOON,
        timeout: LEASE_TTL_MS / 2,
      })
      .toBe(true);
  });
});

describe('what the leases log', () => {
  const changes = (rig: Rig) =>
    rig.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'leases changed');

  it('one line per batch of changes, naming the partitions, not one per lease', async () => {
    const rig = await startLeases(undefined, engineNc, 16);
    await expect.poll(() => changes(rig).length, SOON).toBe(1);
    expect(changes(rig)[0]).toMatchObject({
      level: 30,
      acquired: 'leader, p 0-15',
      serving: 'leader, p 0-15',
    });
    await rig.leases.stop();
    expect(changes(rig)).toHaveLength(2);
    expect(changes(rig)[1]).toMatchObject({ released: 'leader, p 0-15', serving: '' });
  });
});

describe('lease renewal on a 3-node cluster', () => {
  let cluster: NatsClusterHandle;
  const connections: NatsConnection[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await cluster?.stop();
  });

  it('keeps the leases while the node leading the bucket is killed and a new one is elected', async () => {
    const test = await connect({ servers: cluster.urls });
    connections.push(test);
    const made = await makeBucket(test, 3);
    const leaderName = (await (await jetstreamManager(test)).streams.info(made.stream)).cluster
      ?.leader;
    const leader = cluster.servers.findIndex((_, i) => leaderName?.endsWith(`-n${i + 1}`));
    expect(leader).toBeGreaterThanOrEqual(0);
    // The engine talks to the survivors only: its connection stays, the bucket's writes fail.
    const engine = await connect({ servers: cluster.urls.filter((_, i) => i !== leader) });
    connections.push(engine);
    const rig = await startLeases(made, engine);

    const before = await revisionOf(rig.bucket, PARTITION);
    const killedAt = Date.now();
    await cluster.servers[leader].kill('SIGKILL');
    try {
      await expect
        .poll(() => rig.logs.some((l) => l.includes('still serving it')), SOON)
        .toBe(true);
      // Renewed again once the survivors elected a leader (4-9 s in nats-server's Raft).
      await expect
        .poll(() => revisionOf(rig.bucket, PARTITION).catch(() => 0), {
          ...SOON,
          timeout: 30_000,
        })
        .toBeGreaterThan(before);
      await expect
        .poll(() => rig.leases.holds(LEADER) && rig.leases.holds(PARTITION), SOON)
        .toBe(true);
      // Kept through the failed renewals: given up, if at all, only once renewal was overdue
      // (an election slower than the give-up margin).
      for (const r of rig.released) expect(r.at - killedAt).toBeGreaterThan(LEASE_TTL_MS / 2);
    } finally {
      await cluster.servers[leader].restart();
    }
  }, 90_000);
});
