/**
 * BullMQ on the local Redis, the same work as Skein's: no-op jobs added in chunks with
 * addBulk, one Worker with concurrency 200, removeOnComplete; then sequential add +
 * waitUntilFinished round trips through QueueEvents. The queue has a name of its own and is
 * obliterated afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cpuBetween, cpuPerTask, sampleCpu } from './cpu.js';
import { deferred, fmt, latencySummary, watched } from './util.js';

const connection = {
  host: process.env.BENCH_REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.BENCH_REDIS_PORT ?? 6379),
};

export interface BullResults {
  redisVersion: string;
  redisPersistence: string;
  warmup: { tasks: number; perS: number };
  throughput: { tasks: number; seconds: number; perS: number };
  roundTrip: ReturnType<typeof latencySummary> & { n: number };
}

/** The Redis version and persistence settings, or undefined when Redis does not answer. */
export async function probeRedis(): Promise<
  { version: string; persistence: string; address: string } | undefined
> {
  const redis = new Redis({
    ...connection,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') return undefined;
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    let persistence = 'unknown';
    try {
      const aof = (await redis.config('GET', 'appendonly')) as string[];
      const save = (await redis.config('GET', 'save')) as string[];
      const fsync = (await redis.config('GET', 'appendfsync')) as string[];
      persistence = `appendonly=${aof[1]}${aof[1] === 'yes' ? ` appendfsync=${fsync[1]}` : ''} save="${save[1]}"`;
    } catch {
      // CONFIG may be disabled
    }
    return { version, persistence, address: `${connection.host}:${connection.port}` };
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

export interface BullBenchOptions {
  warmup: number;
  tasks: number;
  chunk: number;
  concurrency: number;
  roundTrips: number;
}

export async function benchBullMQ(
  opts: BullBenchOptions,
  redis: { version: string; persistence: string },
  log: (line: string) => void,
): Promise<BullResults> {
  const name = `skein-bench-${process.pid}-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection });
  let completed = 0;
  let failed = 0;
  let target = 0;
  let reached = deferred<void>();
  const worker = new Worker(name, async () => null, { connection, concurrency: opts.concurrency });
  worker.on('completed', () => {
    completed++;
    if (completed >= target) reached.resolve();
  });
  worker.on('failed', (_job, err) => {
    failed++;
    log(`bullmq job failed: ${String(err)}`);
  });
  worker.on('error', (err) => log(`bullmq worker error: ${String(err)}`));
  const events = new QueueEvents(name, { connection });
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()]);

    const batch = async (label: string, total: number) => {
      target = completed + total;
      reached = deferred<void>();
      let added = 0;
      const t0 = performance.now();
      const work = (async () => {
        for (let i = 0; i < total; i += opts.chunk) {
          const n = Math.min(opts.chunk, total - i);
          await queue.addBulk(
            Array.from({ length: n }, (_, j) => ({
              name: 'noop',
              data: { n: i + j },
              opts: { removeOnComplete: true, removeOnFail: true },
            })),
          );
          added += n;
        }
        await reached.promise;
      })();
      await watched(`bullmq ${label}`, work, () => `${added} added, ${completed} completed`);
      const seconds = (performance.now() - t0) / 1000;
      return { tasks: total, seconds, perS: total / seconds };
    };

    const warm = await batch('warm-up', opts.warmup);
    log(`warm-up: ${fmt(warm.tasks)} jobs, ${fmt(warm.perS)} jobs/s`);
    const cpu0 = sampleCpu(['redis-server']);
    const tp = await batch('throughput', opts.tasks);
    const cpu1 = sampleCpu(['redis-server']);
    const cpu = cpuBetween(cpu0, cpu1);
    log(`throughput: ${fmt(tp.tasks)} jobs in ${fmt(tp.seconds, 2)} s = ${fmt(tp.perS)} jobs/s`);
    log(
      `  cpu during the timed phase (100% = one core): ${cpu.replace('bench (client+worker)', 'bench (producer+worker)')}`,
    );
    log(
      `  cpu per job: ${cpuPerTask(cpu0, cpu1, tp.tasks).replace('bench (client+worker)', 'bench (producer+worker)')}`,
    );
    if (failed > 0) throw new Error(`${failed} BullMQ jobs failed`);

    const samples: number[] = [];
    const rt = (async () => {
      for (let i = 0; i < opts.roundTrips; i++) {
        const t = performance.now();
        target = completed + 1;
        // Kept for a moment after completion (not removeOnComplete: true): waitUntilFinished checks
        // the job's state after subscribing, and a job already deleted by then counts as missing.
        const job = await queue.add(
          'rt',
          { n: i },
          { removeOnComplete: { count: 1000 }, removeOnFail: true },
        );
        await job.waitUntilFinished(events, 10_000);
        samples.push(performance.now() - t);
      }
    })();
    await watched('bullmq round trips', rt, () => samples.length, 15_000);
    const roundTrip = { n: samples.length, ...latencySummary(samples) };
    log(
      `round trip: ${roundTrip.n} sequential add + waitUntilFinished: p50 ${fmt(roundTrip.p50, 2)} ms, p90 ${fmt(roundTrip.p90, 2)} ms, ` +
        `p99 ${fmt(roundTrip.p99, 2)} ms, max ${fmt(roundTrip.max, 2)} ms, mean ${fmt(roundTrip.mean, 2)} ms`,
    );
    return {
      redisVersion: redis.version,
      redisPersistence: redis.persistence,
      warmup: { tasks: warm.tasks, perS: warm.perS },
      throughput: { tasks: tp.tasks, seconds: tp.seconds, perS: tp.perS },
      roundTrip,
    };
  } finally {
    await worker.close().catch(() => undefined);
    await events.close().catch(() => undefined);
    await queue
      .obliterate({ force: true })
      .catch((err: unknown) => log(`could not obliterate queue ${name}: ${String(err)}`));
    await queue.close().catch(() => undefined);
  }
}
