/** Creates, idempotently, every stream, consumer and bucket one namespace needs. */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { LEASE_TTL_MS } from './leases.js';
import { PARTITIONS, type Names } from './protocol.js';
import { routerStartSeq } from './router-progress.js';
import { objectStream, objectStreamSubjects } from './subjects.js';

const DAY_NS = 24 * 3600 * 1e9;
const SECOND_NS = 1e9;
/** The most log lines kept per run: beyond it, a run's oldest lines go first. */
export const LOG_LINES_PER_RUN = 10_000;

export interface Buckets {
  leases: KV;
  registry: KV;
  workers: KV;
  snapshots: KV;
  rateLimits: KV;
  runIndex: ObjectStore;
}

export interface SetupOptions {
  replicas?: number;
  /** How long pushed events are kept (for look-back conditions and replays). */
  eventRetentionDays?: number;
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
) {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (err) {
    if (!String(err).includes('stream not found')) throw err;
    await jsm.streams.add(config);
  }
}

export async function ensureStreams(jsm: JetStreamManager, n: Names, opts: SetupOptions = {}) {
  const num_replicas = opts.replicas ?? 1;
  const common = { storage: StorageType.File, num_replicas, duplicate_window: 120 * SECOND_NS };
  await ensureStream(jsm, {
    ...common,
    name: n.streams.journal,
    subjects: [`${n.ns}.j.>`],
    allow_direct: true,
  });
  await ensureStream(jsm, {
    ...common,
    name: n.streams.inbox,
    subjects: [`${n.ns}.in.>`],
    retention: RetentionPolicy.Workqueue,
  });
  await ensureStream(jsm, {
    ...common,
    name: n.streams.timers,
    subjects: [n.timerSubject],
    retention: RetentionPolicy.Workqueue,
  });
  await ensureStream(jsm, {
    ...common,
    name: n.streams.logs,
    subjects: [`${n.ns}.log.>`],
    // No age limit: a run's logs are deleted with the run (its retention). The safety limit is
    // per run: a task logging in a loop keeps its latest lines and cannot fill the disk alone.
    max_age: 0,
    max_msgs_per_subject: LOG_LINES_PER_RUN,
    allow_direct: true,
  });
  await ensureStream(jsm, {
    ...common,
    name: n.streams.events,
    subjects: [n.eventsAll],
    max_age: (opts.eventRetentionDays ?? 7) * DAY_NS,
    allow_direct: true,
  });
  await ensureStream(jsm, {
    ...common,
    name: n.streams.payloadIndex,
    subjects: [n.payloadIndexAll],
    allow_direct: true,
  });
  // Object stores laid out as @nats-io/obj makes them (runtime/payloads.ts opens them); an
  // event's objects outlive the event by an hour, so a run it triggers late can still copy them.
  await ensureObjectStore(jsm, n.buckets.payloads, num_replicas, 0);
  await ensureObjectStore(
    jsm,
    n.buckets.eventPayloads,
    num_replicas,
    (opts.eventRetentionDays ?? 7) * DAY_NS + 3600 * SECOND_NS,
  );
}

function ensureObjectStore(
  jsm: JetStreamManager,
  bucket: string,
  replicas: number,
  maxAge: number,
) {
  return ensureStream(jsm, {
    name: objectStream(bucket),
    subjects: objectStreamSubjects(bucket),
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: maxAge,
    allow_direct: true,
    allow_rollup_hdrs: true,
    discard: DiscardPolicy.New,
  });
}

/** A durable pull consumer; a consumer that exists already is kept as it is. */
function consumerConfig(
  name: string,
  filter: string,
  maxAckPending: number,
  ackWaitMs: number,
): Partial<ConsumerConfig> {
  return {
    durable_name: name,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: maxAckPending,
    ack_wait: ackWaitMs * 1e6,
  };
}

/** The consumer's info, or undefined when it does not exist (deleted behind the engine's back). */
async function infoOrMissing(jsm: JetStreamManager, stream: string, name: string) {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)
      return undefined;
    throw err;
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig>,
) {
  try {
    await jsm.consumers.info(stream, config.durable_name!);
  } catch {
    await jsm.consumers.add(stream, config);
  }
}

// The scheduler reads the run journal: an entry that queued a task stays unacknowledged until
// that task run is over. A redelivery to the live leader is deduplicated; a new leader does
// not wait for ack_wait but restarts the consumer at its ack floor (restartSchedulerConsumer).
const schedulerConsumer = (n: Names) =>
  consumerConfig('scheduler', n.journalAll('run'), -1, 300_000);

/**
 * Makes the scheduler consumer deliver again, at once, every entry after its ack floor: the
 * ones a dead leader held unacknowledged among them. Returns the last sequence delivered
 * before, up to which deliveries must be treated as redeliveries.
 */
export async function restartSchedulerConsumer(jsm: JetStreamManager, n: Names): Promise<number> {
  const info = await infoOrMissing(jsm, n.streams.journal, 'scheduler');
  if (!info) {
    // Recreated from the start: every entry may be a redelivery.
    await jsm.consumers.add(n.streams.journal, schedulerConsumer(n));
    return (await jsm.streams.info(n.streams.journal)).state.last_seq;
  }
  if (info.num_ack_pending === 0) return 0;
  await jsm.consumers.delete(n.streams.journal, 'scheduler');
  await jsm.consumers.add(n.streams.journal, {
    ...schedulerConsumer(n),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.ack_floor.stream_seq + 1,
  });
  return info.delivered.stream_seq;
}

const timersConsumer = (n: Names) => consumerConfig('timers', n.timerSubject, -1, 30_000);

/**
 * Makes the timers consumer deliver every waiting timer again at once. A timer waits as a
 * message the server redelivers after its nak delay; a restarted server forgets those delays
 * and would hold each timer until ack_wait, so a new leader starts the consumer afresh (the
 * stream is a work queue: what is left in it is exactly the timers not yet fired).
 */
export async function restartTimersConsumer(jsm: JetStreamManager, n: Names) {
  const info = await infoOrMissing(jsm, n.streams.timers, 'timers');
  if (!info) return void (await jsm.consumers.add(n.streams.timers, timersConsumer(n)));
  if (info.num_ack_pending === 0) return;
  await jsm.consumers.delete(n.streams.timers, 'timers');
  await jsm.consumers.add(n.streams.timers, timersConsumer(n));
}

const routerConsumer = (n: Names) => consumerConfig('router', `${n.ns}.ev.>`, 10_000, 30_000);

/**
 * Makes the event router's consumer deliver again, at once, every event after its ack floor,
 * the ones a dead leader held unacknowledged among them (rather than after ack_wait). Routing
 * an event twice is harmless: its runs' ids derive from the event id.
 */
export async function restartRouterConsumer(jsm: JetStreamManager, n: Names) {
  const info = await infoOrMissing(jsm, n.streams.events, 'router');
  if (!info) return addRouterConsumer(jsm, n);
  if (info.num_ack_pending === 0) return;
  await jsm.consumers.delete(n.streams.events, 'router');
  await jsm.consumers.add(n.streams.events, {
    ...routerConsumer(n),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.ack_floor.stream_seq + 1,
  });
}

/**
 * A missing router consumer starts after the router's stored progress (router-progress.ts),
 * not from the stream's start: kept events whose runs were deleted must not start them again.
 * A brand-new namespace has no progress and starts from the start.
 */
async function addRouterConsumer(jsm: JetStreamManager, n: Names) {
  const seq = await routerStartSeq(jsm, n);
  await jsm.consumers.add(
    n.streams.events,
    seq <= 1
      ? routerConsumer(n)
      : {
          ...routerConsumer(n),
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: seq,
        },
  );
}

const partitionConsumer = (n: Names, p: number) =>
  consumerConfig(`p${p}`, n.inboxPartition(p), 20_000, 30_000);

/**
 * Makes a mailbox partition's consumer deliver at once what an engine that died held
 * unacknowledged, rather than after ack_wait. The inbox is a work queue: what is left in it
 * is exactly what no turn has handled yet.
 */
export async function restartPartitionConsumer(jsm: JetStreamManager, n: Names, p: number) {
  const info = await infoOrMissing(jsm, n.streams.inbox, `p${p}`);
  if (!info) return void (await jsm.consumers.add(n.streams.inbox, partitionConsumer(n, p)));
  if (info.num_ack_pending === 0) return;
  await jsm.consumers.delete(n.streams.inbox, `p${p}`);
  await jsm.consumers.add(n.streams.inbox, partitionConsumer(n, p));
}

export async function ensureConsumers(jsm: JetStreamManager, n: Names) {
  for (let p = 0; p < PARTITIONS; p++) {
    await ensureConsumer(jsm, n.streams.inbox, partitionConsumer(n, p));
  }
  await ensureConsumer(jsm, n.streams.journal, schedulerConsumer(n));
  await ensureConsumer(jsm, n.streams.timers, timersConsumer(n));
  if (!(await infoOrMissing(jsm, n.streams.events, 'router'))) await addRouterConsumer(jsm, n);
}

export async function ensureBuckets(
  nc: NatsConnection,
  n: Names,
  opts: SetupOptions = {},
): Promise<Buckets> {
  const kvm = new Kvm(nc);
  const replicas = opts.replicas ?? 1;
  return {
    leases: await kvm.create(n.buckets.leases, { ttl: LEASE_TTL_MS, history: 1, replicas }),
    registry: await kvm.create(n.buckets.registry, { history: 1, replicas }),
    workers: await kvm.create(n.buckets.workers, { ttl: 24 * 3600_000, history: 1, replicas }),
    snapshots: await kvm.create(n.buckets.snapshots, { history: 1, replicas }),
    rateLimits: await kvm.create(n.buckets.rateLimits, { history: 1, replicas }),
    runIndex: await new Objm(nc).create(n.buckets.runIndex, { replicas }),
  };
}
