/**
 * A peer publishes garbage on every subject the engine and a worker listen on, and on the
 * streams' subjects, while normal runs go on: random bytes, msgpack of the wrong shapes,
 * messages near max_payload, empty ones, and subjects nobody expects. The engine and the
 * worker stay up and keep serving, every run completes, and the refusals are counted.
 * The PRNG is seeded (FUZZ_SEED to choose another); a failure names the seed.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Skein } from 'skein';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../actors/testing/random.js';
import { decode, encode } from '../runtime/codec.js';
import { names, PARTITIONS } from '../runtime/protocol.js';
import { rejectionCounts } from '../runtime/rejections.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { getFreePort } from './support/nats-process.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const MAX_PAYLOAD = 128 * 1024;
const MESSAGES = 2500;

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv({ maxPayload: MAX_PAYLOAD });
});
afterAll(async () => {
  await env.stop();
});

const KEYS = [
  'type', 'id', 'runId', 'key', 'taskName', 'workerId', 'message', 'at', 'ev', 'fx', 'm', 's',
  'dueAt', 'to', 'timerId', 'eventId', 'reason', 'status', 'spec', 'input', 'slots', 'sentAt',
]; // prettier-ignore
const TYPES = [
  'Trigger', 'TaskResult', 'Cancel', 'RetryDue', 'DurableCall', 'DurableWait', 'SleepElapsed',
  'EventReceived', 'DefineCron', 'CronDue', 'CreateSchedule', 'Acquire', 'Release', 'enqueue',
  'abortTask', 'awaitEvent', 'RunTriggered', 'COMPLETED', 'run', 'cron', 'nosuch',
]; // prettier-ignore

/** Garbage of every kind, from one seed. */
function garbage(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: T[]) => items[int(items.length)];
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const value = (depth: number): unknown => {
    switch (int(depth > 2 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return int(2) ? -int(1e9) : next() * 1e12;
      case 2:
        return pick(TYPES);
      case 3:
        return 'x'.repeat(int(300));
      case 4:
        return int(2) === 0;
      case 5:
        return undefined;
      case 6:
      case 7:
        return Object.fromEntries(
          Array.from({ length: int(6) }, () => [pick(KEYS), value(depth + 1)]),
        );
      default:
        return Array.from({ length: int(5) }, () => value(depth + 1));
    }
  };
  return {
    int,
    pick,
    payload(): Uint8Array {
      const kind = int(100);
      if (kind < 3) return bytes(MAX_PAYLOAD - 2048 - int(2048)); // near max_payload
      if (kind < 10) return new Uint8Array();
      if (kind < 35) return bytes(int(512));
      if (kind < 50) return encode(Array.from({ length: int(4) }, () => value(1)));
      return encode(value(0));
    },
  };
}

describe(`bus fuzz (seed ${SEED})`, () => {
  it('garbage on every subject: engine and worker keep serving, every run completes', async () => {
    const port = await getFreePort();
    const engineLogger = pino({ level: 'silent' });
    const { namespace, engine } = await env.client({
      engine: { logger: engineLogger, http: { port } },
    });
    const workerLogger = pino({ level: 'silent' });
    const skein = Skein.init({ natsUrl: env.url, namespace, logger: workerLogger });
    const n = names(namespace);
    const g = garbage(SEED);
    const nc = await connect({ servers: env.url });
    try {
      const inc = skein.task({ name: 'inc', fn: (x: number) => x + 1 });
      const sleeper = skein.durableTask({
        name: 'sleeper',
        fn: async (x: number, ctx) => {
          await ctx.sleepFor('300ms');
          return x * 2;
        },
      });
      const waiter = skein.durableTask({
        name: 'waiter',
        fn: async (_: unknown, ctx) => ctx.waitForEvent<{ go: number }>('fz:go'),
      });
      const onEvent = skein.task({ name: 'on-event', onEvents: ['fz:start'], fn: () => 'started' });
      const worker = await skein.worker('fuzzed', {
        workflows: [inc, sleeper, waiter, onEvent],
        slots: 50,
      });
      await worker.start();

      const incs = Array.from({ length: 30 }, (_, i) => inc.run(i));
      const sleeps = Array.from({ length: 5 }, (_, i) => sleeper.run(i));
      const waits = await Promise.all(Array.from({ length: 3 }, () => waiter.runNoWait({})));

      const fakeIds = ['ghost', 'ghost-2', 'x'.repeat(200), 'with space', 'ü'];
      const kv = new Kvm(nc);
      const buckets = await Promise.all(
        [n.buckets.workers, n.buckets.registry, n.buckets.rateLimits, n.buckets.snapshots].map(
          (b) => kv.open(b),
        ),
      );
      const subjects = [
        ...Array.from({ length: PARTITIONS }, (_, p) => n.directPartition(p)),
        ...Array.from({ length: PARTITIONS }, (_, p) => `${n.ns}.in.${p}.run.ghost`),
        ...['runs.get', 'runs.list', 'runs.history', 'runs.logs', 'runs.ended'].map(n.api),
        ...['workers.list', 'durable.history', 'nope'].map(n.api),
        n.leaderApi('sched.lookup'),
        n.schedulerRejected,
        n.schedulerFinished,
        n.workerDispatch(worker.id),
        n.workerCancel(worker.id),
        // Where the engine tells this client its runs ended.
        (skein as unknown as { waiter: { notifySubject: string } }).waiter.notifySubject,
        n.timerSubject,
        n.eventSubject('fz:go'),
        n.eventSubject('fz:start'),
        ...fakeIds.flatMap((id) => [
          n.journalSubject('run', id),
          n.inboxSubject('run', id),
          n.logSubject(id),
          n.runFinished(id),
        ]),
        n.inboxSubject('cron', 'ghost'),
        n.inboxSubject('schedule', 'ghost'),
        n.inboxSubject('concurrency', 'ghost'),
        n.journalSubject('cron', 'ghost'),
        `${n.ns}.in.99.run.ghost`,
        `${n.ns}.in.0.nosuch.ghost`,
        `${n.ns}.in.0`,
        `${n.ns}.j.run`,
        `${n.ns}.dm.99`,
        `${n.ns}.w.${'y'.repeat(900)}.dispatch`,
        `${n.ns}.api.${'z'.repeat(900)}`,
      ];

      const served = subjects.filter((s) => /\.(dm|api|leader)\./.test(s));
      const answers: unknown[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        const data = g.payload();
        if (i % 50 === 0) {
          // A request to the engine, when it gets an answer, gets one that decodes.
          const subject = g.pick(served);
          const reply = await nc.request(subject, data, { timeout: 2000 }).catch(() => undefined);
          if (reply) answers.push(decode(reply.data));
        } else nc.publish(g.pick(subjects), data);
        if (i % 20 === 0) {
          const bucket = g.pick(buckets);
          await bucket.put(`${g.pick(['w', 't', 'r', 'run'])}.fz${g.int(20)}`, g.payload());
        }
        if (i % 100 === 0) await nc.flush();
      }
      await nc.flush();

      // Events count for waits that started before them: wait for the waits.
      await vi.waitFor(
        async () => {
          for (const ref of waits) {
            const history = await skein.runs.history(ref.runId);
            expect(history.map((e) => e.type)).toContain('DurableWaitStarted');
          }
        },
        { timeout: 30_000, interval: 250 },
      );
      await skein.events.push('fz:go', { go: 1 });
      await skein.events.push('fz:start', {});
      expect(await Promise.all(incs)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await Promise.all(sleeps)).toEqual([0, 2, 4, 6, 8]);
      for (const ref of waits) expect(await ref.result()).toEqual({ go: 1 });
      await vi.waitFor(
        async () => {
          const runs = await skein.runs.list({ name: 'on-event' });
          expect(runs.map((r) => [r.status, r.output])).toEqual([['COMPLETED', 'started']]);
        },
        { timeout: 30_000, interval: 250 },
      );
      for (const a of answers) expect(a === null || typeof a === 'object').toBe(true);

      // Still serving: a fresh run, the lists and the status page.
      expect(await inc.run(100)).toBe(101);
      expect((await skein.runs.list({ limit: 1000 })).length).toBeGreaterThanOrEqual(38);
      expect((await skein.workers.list()).some((w) => w.id === worker.id)).toBe(true);
      expect(engine.partitions()).toHaveLength(PARTITIONS);
      const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
        rejectedMessages: Record<string, number>;
      };
      const total = Object.values(status.rejectedMessages).reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(MESSAGES / 10);
      expect(Object.keys(rejectionCounts(workerLogger)).length).toBeGreaterThan(0);
    } finally {
      await nc.close();
      await skein.close();
    }
  }, 180_000);
});
