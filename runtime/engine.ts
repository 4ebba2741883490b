/** The engine process: sets up the namespace, takes its share of partitions, serves them. */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { concurrencyActor } from '../actors/concurrency/index.js';
import { cronActor } from '../actors/cron/index.js';
import { runActor, type RunMessage, type RunState } from '../actors/run/index.js';
import { scheduleActor } from '../actors/schedule/index.js';
import { defaultSchedulerConfig, type SchedulerState } from '../actors/scheduler/state.js';
import { ActorHost } from './actor-host.js';
import { checkEngineOptions, type EngineOptions } from './engine-options.js';
import { EngineApi } from './api.js';
import { systemClock } from './clock.js';
import { connectNats, openJetStream } from './connection.js';
import { dispatchKeyOf } from './dispatch-signature.js';
import { EffectRunner } from './effects.js';
import { startHttp, type HttpServer } from './http.js';
import { EventChecker } from './event-check.js';
import { EventRouter } from './event-router.js';
import { Journal } from './journal.js';
import { KeepRunning } from './keep-running.js';
import { watchConsumerMoves } from './consumer-moves.js';
import { LEADER, Leases, partitionOfLease } from './leases.js';
import { EnginePresence } from './liveness.js';
import { Mailbox } from './mailbox.js';
import { RegistryView } from './registry-view.js';
import { rejectionCounts } from './rejections.js';
import { Requester } from './requester.js';
import { RunStarter } from './run-starter.js';
import {
  PARTITIONS,
  names as namesOf,
  cronMessageSchema,
  partitionOf,
  runMessageSchema,
  scheduleMessageSchema,
  concurrencyMessageSchema,
} from './protocol.js';
import { JournalTail } from './journal-tail.js';
import { SchedulerHost } from './scheduler-host.js';
import {
  ensureBuckets,
  ensureConsumers,
  ensureStreams,
  restartPartitionConsumer,
} from './setup.js';
import { TimerHost } from './timer-host.js';
import { Payloads } from './payloads.js';
import { RunIndex } from './run-index/run-index.js';
import { RetentionSweeper } from './retention-sweeper.js';
import { EngineMetrics } from './metrics/engine-metrics.js';
import { metricsRoute } from './metrics/http.js';
import { isCreation } from './metrics/run-turns.js';

/** How long a kept part waits for JetStream to answer a consumer change before trying again. */
const PART_REQUEST_TIMEOUT_MS = 2_000;

export type { EngineOptions };

export interface Engine {
  readonly id: string;
  readonly namespace: string;
  /** Partitions this engine serves now (for tests and metrics). */
  partitions(): number[];
  isLeader(): boolean;
  /** The port the HTTP server listens on (the one picked when `http.port` is 0). */
  readonly httpPort: number | undefined;
  stop(): Promise<void>;
}

export async function startEngine(opts: EngineOptions = {}): Promise<Engine> {
  const { httpConfig, maxPayloadBytes, namespace, id, defaultRetentionMs } =
    checkEngineOptions(opts);
  const logger = (opts.logger ?? pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'info' })).child({
    engine: id,
  });
  const clock = opts.clock ?? systemClock;
  // Counted only where they can be read (GET /metrics). Its sources are read when scraped,
  // once the parts below exist.
  const metrics: EngineMetrics | undefined =
    opts.metrics === false || !opts.http
      ? undefined
      : new EngineMetrics({
          logger,
          now: () => clock.now(),
          leading: () => leases.holds(LEADER),
          scheduler: (): SchedulerState | undefined =>
            leases.holds(LEADER) ? scheduler.view() : undefined,
        });
  const n = namesOf(namespace);
  const nc: NatsConnection = await connectNats(opts.natsUrl, opts.nats, id);
  const jsm = await openJetStream(nc);
  const js = jetstream(nc);
  // A set-up NATS refuses (permissions) must not leave a connection keeping the process alive.
  const closeOnError = <T>(p: Promise<T>) =>
    p.catch(async (err: unknown) => {
      await nc.close().catch(() => undefined);
      throw err;
    });
  await closeOnError(
    ensureStreams(jsm, n, { replicas: opts.replicas, eventRetentionDays: opts.eventRetentionDays }),
  );
  await closeOnError(ensureConsumers(jsm, n));
  const buckets = await closeOnError(ensureBuckets(nc, n, { replicas: opts.replicas }));

  // The parts kept under a lease (re)start their consumers with this one: while a NATS cluster
  // elects a meta leader, a consumer change has no answer, and a restart that waits out the
  // client's 5 s timeout is retried (KeepRunning) seconds after the cluster could serve it.
  const partsJsm = await jetstreamManager(nc, { timeout: PART_REQUEST_TIMEOUT_MS });
  const requester = new Requester(nc);
  const journal = new Journal(requester, jsm, n, logger, metrics);
  const registry = new RegistryView(buckets.registry, logger);
  await registry.start();
  const runStarter = new RunStarter(requester, n, registry);
  const checker = new EventChecker(js, jsm, requester, n, clock);
  const effects = new EffectRunner(nc, requester, n, runStarter, checker);
  const runs = new ActorHost(runActor, {
    journal,
    effects,
    clock,
    logger,
    snapshots: buckets.snapshots,
    snapshotEvery: opts.snapshotEvery ?? 100,
    createsActor: (m: RunMessage) => m.type === 'Trigger',
    hooks: opts.hooks,
    onAppended: (seq, entry, before) => {
      tail.noteAppended(seq, entry);
      runIndex?.noteAppended(seq, entry);
      // A creating entry is counted where every run's is: by the leader's tail.
      if (metrics && !isCreation(entry)) metrics.runTurn(entry, before);
    },
  });
  const actorOptions = { journal, effects, clock, logger, snapshots: buckets.snapshots };
  // Their journals are compacted after each snapshot: a cron ticks, and a group turns, forever.
  const compacted = { ...actorOptions, snapshotEvery: opts.snapshotEvery ?? 100, compact: true };
  const crons = new ActorHost(cronActor, compacted);
  const concurrencyGroups = new ActorHost(concurrencyActor, compacted);
  const schedules = new ActorHost(scheduleActor, {
    ...actorOptions,
    createsActor: (m) => m.type === 'CreateSchedule',
  });
  const mailbox = new Mailbox(
    nc,
    js,
    n,
    {
      run: { host: runs, schema: runMessageSchema },
      cron: { host: crons, schema: cronMessageSchema },
      schedule: { host: schedules, schema: scheduleMessageSchema },
      concurrency: { host: concurrencyGroups, schema: concurrencyMessageSchema },
    },
    logger,
  );
  const payloads = new Payloads(js, n, maxPayloadBytes, nc.info?.max_payload ?? 1024 * 1024);
  const events = new EventRouter(
    js,
    partsJsm,
    requester,
    n,
    logger,
    registry,
    runStarter,
    payloads,
    metrics,
  );
  const scheduler = new SchedulerHost({
    nc,
    js,
    workers: buckets.workers,
    names: n,
    clock,
    logger,
    config: { ...defaultSchedulerConfig, ...opts.scheduler },
    release: (key) => tail.release(key),
    rateLimits: buckets.rateLimits,
    dispatchKey: dispatchKeyOf(opts.dispatchKey),
    metrics,
  });
  const tail = new JournalTail({
    js,
    jsm: partsJsm,
    names: n,
    logger,
    tasks: scheduler,
    waits: events,
    // A run created by a client is kept in memory if this engine serves its partition, and the
    // effects of its first turn that are not read from the journal (messages to other actors,
    // timers) are carried out here, as the run's own turn would (the same msgIDs dedupe repeats).
    onRunCreated: (runId, seq, entry) => {
      if (mailbox.partitions.includes(partitionOf('run', runId))) runs.prime(runId, seq, entry);
      // NATS may be restarting: retry while leading; a new leader gets the unacked entry.
      return effects.runUntilStored(
        entry.fx,
        `run.${runId}:${entry.m}`,
        () => leases.holds(LEADER),
        logger,
      );
    },
    readRun: async (runId): Promise<RunState> => (await runs.read(runId)).state,
    onDecoded: (seq, entry) => runIndex?.noteAppended(seq, entry),
    onEntry: (seq, subject, entry, redelivered) => {
      runIndex?.follow(seq, subject, entry);
      if (metrics && !redelivered && isCreation(entry)) metrics.runCreated(entry);
    },
  });
  const timers = new TimerHost(js, partsJsm, n, clock, logger, opts.timerRecheckMs, metrics);
  const api = new EngineApi({
    nc,
    js,
    jsm,
    names: n,
    journal,
    runs,
    concurrency: concurrencyGroups,
    workers: buckets.workers,
    clock,
    logger,
  });
  api.start();
  const runIndex =
    opts.runIndex?.enabled === false
      ? undefined
      : new RunIndex({
          nc,
          js,
          jsm: partsJsm,
          names: n,
          logger,
          objects: buckets.runIndex,
          getRun: (runId) => api.getRun(runId),
          live: () => scheduler.dispatched(),
          source: { healthy: () => tail.healthy(), position: () => tail.position() },
          checkpointEveryMs: opts.runIndex?.checkpointEveryMs,
        });

  const sweeper = new RetentionSweeper({
    deps: { jsm: partsJsm, names: n, snapshots: buckets.snapshots, runs },
    // Without the index (a bench comparison), only crons and schedules are swept.
    source: opts.expiredRuns ?? runIndex,
    defaultRetentionMs,
    clock,
    logger,
    actors: { cron: crons, schedule: schedules },
    sweepEveryMs: opts.sweepEveryMs,
  });

  // Part names are the names of their consumers (see watchConsumerMoves).
  const keeper = new KeepRunning(logger);
  const leaderParts = {
    router: events,
    retention: sweeper, // no consumer of its own
    // The scheduler's state is rebuilt from what the tail reads: it starts first, and a restart
    // of the tail's consumer (named `scheduler`) restarts both.
    scheduler: {
      start: async () => {
        await scheduler.start();
        await tail.start();
      },
      stop: async () => {
        await scheduler.stop();
        await tail.stop();
      },
      healthy: () => tail.healthy(),
      pullAgain: () => tail.pullAgain(),
    },
    timers,
    ...(runIndex && { runIndex }),
  };
  const leases = new Leases(
    buckets.leases,
    id,
    PARTITIONS,
    {
      acquired: async (lease) => {
        const p = partitionOfLease(lease);
        // What a dead holder had taken and not acknowledged comes again at once, not after ack_wait.
        if (p !== undefined)
          await keeper.keep(`p${p}`, {
            start: () => restartPartitionConsumer(partsJsm, n, p).then(() => mailbox.serve(p)),
            stop: () => mailbox.release(p),
            healthy: () => mailbox.healthy(p),
            pullAgain: () => mailbox.pullAgain(p),
          });
        else if (lease === LEADER)
          await Promise.all(Object.entries(leaderParts).map(([k, part]) => keeper.keep(k, part)));
        logger.debug({ lease }, 'lease acquired');
      },
      released: async (lease) => {
        const p = partitionOfLease(lease);
        if (p !== undefined) await keeper.drop(`p${p}`);
        else if (lease === LEADER)
          await Promise.all(Object.keys(leaderParts).map((k) => keeper.drop(k)));
        logger.debug({ lease }, 'lease released');
      },
    },
    logger,
    new EnginePresence(nc, n, randomUUID()),
    opts.leaseRenewMs,
  );
  await leases.start().catch(async (err: unknown) => {
    api.stop();
    registry.stop();
    requester.close();
    await nc.close();
    throw err;
  });
  watchReconnects(nc, logger, async () => {
    // The timers' redelivery delays (nak) are lost with a restarted server, and with a
    // consumer leader: start the consumer again, or timers wait out its ack_wait. The other
    // parts look for deliveries lost with the connection.
    keeper.restart(['timers']);
    keeper.reconnected();
    await leases.verify(); // another engine may have taken over while this one was away
  });
  const moves = watchConsumerMoves(nc, n, logger, (consumer) => keeper.moved(consumer));
  const stopParts = async (http?: HttpServer) => {
    api.stop();
    for (const sub of moves) sub.unsubscribe();
    await leases.stop();
    keeper.stop();
    registry.stop();
    await http?.close();
    requester.close();
    await nc.drain();
  };
  const http: HttpServer | undefined = httpConfig
    ? await startHttp(httpConfig, {
        status: () => ({
          engine: id,
          namespace,
          partitions: mailbox.partitions,
          leader: leases.holds(LEADER),
          cachedRuns: runs.cachedCount,
          indexedRuns: leases.holds(LEADER) ? (runIndex?.size ?? null) : null,
          rejectedMessages: rejectionCounts(logger),
        }),
        logger,
        dashboard: { natsUrl: opts.natsUrl, nats: opts.nats, namespace, js, nc },
        metrics: metrics && metricsRoute(metrics),
      }).catch(async (err: unknown) => {
        // A port in use, say: nothing this engine started may go on without it.
        await stopParts();
        throw err;
      })
    : undefined;
  logger.info({ namespace, partitions: mailbox.partitions }, 'engine started');

  let stopping: Promise<void> | undefined;
  return {
    id,
    namespace,
    partitions: () => mailbox.partitions,
    isLeader: () => leases.holds(LEADER),
    httpPort: http?.port,
    stop: () => (stopping ??= stopParts(http).then(() => logger.info('engine stopped'))),
  };
}

/** Calls `onReconnect` after each reconnection of the engine's NATS connection. */
function watchReconnects(nc: NatsConnection, logger: Logger, onReconnect: () => Promise<void>) {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'reconnect') continue;
      logger.info({ server: nc.getServer() }, 'reconnected to NATS');
      await onReconnect().catch((err: unknown) =>
        logger.warn({ err }, 'could not check the leases after a reconnect'),
      );
    }
  })();
}
