/**
 * Retention: finished runs are deleted (journal, logs, snapshot) by the leader's sweeper once
 * past their retention; nothing running is touched; the journals of crons and concurrency
 * groups are compacted after each snapshot; deleted crons and schedules leave nothing; KV
 * deletes leave no markers behind. The run index is stood in for by test/support/finished-runs.ts.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NotFoundError, ValidationError } from 'skein';
import { startEngine } from 'skein/runtime';
import { runActor } from '../actors/run/index.js';
import { ActorHost } from '../runtime/actor-host.js';
import { systemClock } from '../runtime/clock.js';
import { EffectRunner } from '../runtime/effects.js';
import { decodeEntry } from '../runtime/journal-entries.js';
import { Journal } from '../runtime/journal.js';
import { deleteMessages, kvStream } from '../runtime/message-deletes.js';
import { names, type Names } from '../runtime/protocol.js';
import { Requester } from '../runtime/requester.js';
import { snapshotKey } from '../runtime/subjects.js';
import { FinishedRuns } from './support/finished-runs.js';
import { startSkeinEnv, testLogger, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  env = await startSkeinEnv();
  nc = await connect({ servers: env.url, noAsyncTraces: true });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc.close();
  await env.stop();
});

/** A namespace whose engine sweeps every 200 ms, with `source` standing in for the run index. */
async function retained(source: FinishedRuns, engine: Record<string, unknown> = {}) {
  const c = await env.client({
    engine: { retention: '1s', expiredRuns: source, sweepEveryMs: 200, ...engine },
  });
  source.skein = c.skein;
  return { ...c, n: names(c.namespace) };
}

/** How many messages a stream holds on `subject`. */
async function stored(stream: string, subject: string): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

const snapshotOf = async (n: Names, type: string, id: string) => {
  const kv = await new Kvm(nc).open(n.buckets.snapshots);
  return kv.get(snapshotKey(type, id));
};

describe('retention options', () => {
  it('refuses a retention that is not a duration, naming the option', async () => {
    const { skein } = await env.client();
    const fn = () => 1;
    expect(() => skein.task({ name: 't', retention: 'soon', fn })).toThrow(
      /task 't': retention: "soon" is not a duration/,
    );
    expect(() => skein.durableTask({ name: 'd', retention: -5, fn })).toThrow(ValidationError);
    expect(() => skein.workflow({ name: 'w', retention: '10ms' })).toThrow(
      /workflow 'w': retention: "10ms" is too short/,
    );
    await expect(startEngine({ natsUrl: env.url, retention: '7 days' })).rejects.toThrow(
      /startEngine: retention: "7 days" is not a duration/,
    );
    // `skein engine --retention`: a usage error naming the flag, before anything connects.
    const bin = fileURLToPath(new URL('../bin/skein.js', import.meta.url));
    const cli = await promisify(execFile)(process.execPath, [
      bin,
      'engine',
      '--retention',
      '2 weeks',
    ])
      .then(() => ({ code: 0, stderr: '' }))
      .catch((err: { code: number; stderr: string }) => err);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/--retention: "2 weeks" is not a duration/);
    process.env.SKEIN_RETENTION = 'forever';
    try {
      await expect(startEngine({ natsUrl: env.url })).rejects.toThrow(/SKEIN_RETENTION/);
    } finally {
      delete process.env.SKEIN_RETENTION;
    }
  });

  it("carries a declaration's retention in its runs' spec", async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'kept', retention: '90s', fn: () => 1 });
    const wf = skein.workflow({ name: 'kept-wf', retention: 3_600_000 });
    wf.task({ name: 'a', fn: () => 1 });
    await (await skein.worker('w', { workflows: [task, wf] })).start();
    const specOf = async (runId: string) =>
      (await skein.runs.history(runId)).find((e) => e.type === 'RunTriggered')?.data.spec;
    const ref = await task.runNoWait({});
    await ref.result();
    expect(await specOf(ref.runId)).toMatchObject({ retentionMs: 90_000 });
    const wfRef = await wf.runNoWait({});
    await wfRef.result();
    expect(await specOf(wfRef.runId)).toMatchObject({ retentionMs: 3_600_000 });
  });
});

describe('deleting finished runs', () => {
  it('takes messages already deleted as deleted (a run deleted again after a leader change)', async () => {
    const stream = 'DELETE_TWICE';
    await jsm.streams.add({ name: stream, subjects: ['twice.>'] });
    const js = jsm.jetstream();
    const first = await js.publish('twice.a', 'one');
    const second = await js.publish('twice.a', 'two');
    await deleteMessages(jsm, stream, [first.seq]);
    await expect(deleteMessages(jsm, stream, [first.seq, second.seq])).resolves.toBeUndefined();
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);
    // Below the stream's first sequence now.
    await expect(deleteMessages(jsm, stream, [first.seq])).resolves.toBeUndefined();
    await jsm.streams.delete(stream);
  });

  it('removes the journal, logs and snapshot of a run past its retention; runs.get then rejects', async () => {
    const source = new FinishedRuns();
    // Snapshots every 3 entries, so that the run has one to delete.
    const { skein, n } = await retained(source, { snapshotEvery: 3 });
    const task = skein.durableTask({
      name: 'chatty',
      retention: '3s',
      fn: async (_input, ctx) => {
        for (let i = 0; i < 4; i++) {
          ctx.log(`step ${i}`);
          await ctx.memo(() => i);
        }
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe('done');
    const journalSubject = n.journalSubject('run', ref.runId);
    const logSubject = n.logSubject(ref.runId);
    // Kept until its retention is up.
    await vi.waitFor(async () => expect(await skein.runs.logs(ref.runId)).toHaveLength(4));
    expect(await stored(n.streams.journal, journalSubject)).toBeGreaterThan(3);
    expect((await snapshotOf(n, 'run', ref.runId))?.operation).toBe('PUT');
    const finishedAt = (await skein.runs.get(ref.runId)).finishedAt!.getTime();
    source.watch(ref.runId);

    await vi.waitFor(() => expect(source.forgotten).toContain(ref.runId), { timeout: 10_000 });
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(3_000);
    expect(Date.now() - finishedAt).toBeLessThan(3_000 + 60_000);
    expect(await stored(n.streams.journal, journalSubject)).toBe(0);
    expect(await stored(n.streams.logs, logSubject)).toBe(0);
    // No delete marker either: the key is gone from the bucket's stream.
    expect(await snapshotOf(n, 'run', ref.runId)).toBeNull();
    const snapshotSubject = `$KV.${n.buckets.snapshots}.${snapshotKey('run', ref.runId)}`;
    expect(await stored(kvStream(n.buckets.snapshots), snapshotSubject)).toBe(0);
    await expect(skein.runs.get(ref.runId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(skein.runs.history(ref.runId)).rejects.toBeInstanceOf(NotFoundError);
    expect(await skein.runs.logs(ref.runId)).toEqual([]);
  });

  it('lets an idempotency key whose run was deleted start a new run', async () => {
    const source = new FinishedRuns();
    const { skein } = await retained(source);
    const task = skein.task({ name: 'charge', fn: (input: { amount: number }) => input.amount });
    await (await skein.worker('w', { workflows: [task] })).start();
    const first = await task.runNoWait({ amount: 1 }, { key: 'order-7' });
    expect(await first.result()).toBe(1);
    // While the run exists, the key gives it back.
    const again = await task.runNoWait({ amount: 2 }, { key: 'order-7' });
    expect(again.runId).toBe(first.runId);
    expect(await again.result()).toBe(1);

    source.watch(first.runId);
    await vi.waitFor(() => expect(source.forgotten).toContain(first.runId), { timeout: 10_000 });
    await expect(skein.runs.get(first.runId)).rejects.toBeInstanceOf(NotFoundError);

    const fresh = await task.runNoWait({ amount: 3 }, { key: 'order-7' });
    expect(fresh.runId).toBe(first.runId);
    expect(await fresh.result()).toBe(3);
    const history = await skein.runs.history(fresh.runId);
    expect(history.filter((e) => e.type === 'RunTriggered')).toHaveLength(1);
  });

  it('never touches a run that has not finished, even when told it expired', async () => {
    const source = new FinishedRuns(true);
    const { skein, n } = await retained(source);
    let released = false;
    let awake = false;
    const sleeper = skein.durableTask({
      name: 'sleeper',
      fn: async (_input, ctx) => {
        await ctx.sleepFor('1500ms');
        awake = true;
        await vi.waitFor(() => expect(released).toBe(true), { timeout: 20_000 });
        return 'woke';
      },
    });
    await (await skein.worker('w', { workflows: [sleeper] })).start();
    const ref = await sleeper.runNoWait({});
    source.watch(ref.runId);
    const subject = n.journalSubject('run', ref.runId);
    // Sweeps pass over the sleeping run, then over the running one.
    const sweepsAfter = async (n: number) => {
      const from = source.asked;
      await vi.waitFor(() => expect(source.asked).toBeGreaterThanOrEqual(from + n));
    };
    await sweepsAfter(3);
    expect((await skein.runs.get(ref.runId)).status).toBe('RUNNING');
    await vi.waitFor(() => expect(awake).toBe(true), { timeout: 10_000 });
    await sweepsAfter(3);
    expect(source.forgotten).toEqual([]);
    expect((await skein.runs.get(ref.runId)).status).toBe('RUNNING');
    const entries = await stored(n.streams.journal, subject);
    released = true;
    expect(await ref.result()).toBe('woke');
    expect(await stored(n.streams.journal, subject)).toBeGreaterThan(entries);
    // Once finished it goes.
    await vi.waitFor(() => expect(source.forgotten).toContain(ref.runId), { timeout: 10_000 });
  });

  it("fences another engine's stale copy of a deleted run: its turn stores nothing", async () => {
    const source = new FinishedRuns();
    const { skein, n } = await retained(source);
    const task = skein.task({ name: 'quick', fn: () => 'ok' });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    await ref.result();
    const subject = n.journalSubject('run', ref.runId);
    const first = await jsm.direct.getMessage(n.streams.journal, { seq: 1, next_by_subj: subject });
    const created = decodeEntry(first!.data, first!.header);

    // Another engine that took the run into memory when it was created, and was cut off since.
    const requester = new Requester(nc);
    let appends = 0;
    const stale = new ActorHost(runActor, {
      journal: new Journal(requester, jsm, n, testLogger),
      effects: new EffectRunner(nc, requester, n),
      clock: systemClock,
      logger: testLogger,
      hooks: { beforeAppend: () => void appends++ },
    });
    stale.prime(ref.runId, first!.seq, created);

    source.watch(ref.runId);
    await vi.waitFor(() => expect(source.forgotten).toContain(ref.runId), { timeout: 10_000 });
    const queued = created.ev.find((e) => (e as { type: string }).type === 'TaskQueued') as {
      key: string;
      taskName: string;
    };
    // The late result of the task, on the stale copy: it would complete the run again.
    await stale.handle(ref.runId, {
      type: 'TaskResult',
      id: 'late-result',
      runId: ref.runId,
      taskName: queued.taskName,
      key: queued.key,
      workerId: 'w-gone',
      startedAt: Date.now(),
      finishedAt: Date.now(),
      output: 'stale',
    } as never);
    // It decided on its stale state and tried to append: refused, it read the empty journal.
    expect(appends).toBe(1);
    expect(await stored(n.streams.journal, subject)).toBe(0);
    await expect(skein.runs.get(ref.runId)).rejects.toBeInstanceOf(NotFoundError);
  });
});

/** Real time moved to wherever a test sets it. */
function movableClock(at: string) {
  let offset = Date.parse(at) - Date.now();
  return {
    now: () => Date.now() + offset,
    advance(ms: number) {
      offset += ms;
    },
  };
}

describe('compaction', () => {
  it('keeps a ticking cron to a bounded journal, working across an engine restart', async () => {
    const clock = movableClock('2030-01-01T00:00:30Z');
    const engine = { clock, timerRecheckMs: 100, snapshotEvery: 5 };
    const source = new FinishedRuns();
    const c = await retained(source, engine);
    const { skein, n } = c;
    const job = skein.task({ name: 'tick', fn: () => 1 });
    await (await skein.worker('w', { workflows: [job] })).start();
    const cron = await job.createCron('every-minute', '* * * * *');
    const subject = n.journalSubject('cron', cron.id);
    const lastTickOf = async () =>
      (await skein.crons.list()).find((x) => x.id === cron.id)?.lastRunAt?.getTime();
    const tick = async () => {
      const before = await lastTickOf();
      clock.advance(60_000);
      await vi.waitFor(async () => expect(await lastTickOf()).not.toBe(before), {
        timeout: 10_000,
        interval: 50,
      });
    };
    let most = 0;
    for (let i = 0; i < 24; i++) {
      await tick();
      most = Math.max(most, await stored(n.streams.journal, subject));
    }
    // Without compaction: 25 entries (creation and 24 ticks).
    expect(most).toBeLessThanOrEqual(2 * 5 + 1);

    await c.engine.stop();
    await c.startEngine(engine);
    for (let i = 0; i < 8; i++) await tick();
    const runs = await skein.runs.list({ additionalMetadata: { skein__cron_id: cron.id } });
    expect(runs).toHaveLength(32);
    expect(await stored(n.streams.journal, subject)).toBeLessThanOrEqual(2 * 5 + 1);
  });

  it('keeps a concurrency group to a bounded journal', async () => {
    const source = new FinishedRuns();
    const { skein, n } = await retained(source, { snapshotEvery: 5 });
    const task = skein.task({ name: 'limited', concurrency: 2, fn: () => 1 });
    await (await skein.worker('w', { workflows: [task], slots: 4 })).start();
    await task.runMany(Array.from({ length: 40 }, (_, i) => task.createBulkRunItem({ i })));
    // Each run takes and gives back a slot: 80+ turns without compaction.
    await vi.waitFor(async () => {
      const info = await jsm.streams.info(n.streams.journal, {
        subjects_filter: n.journalAll('concurrency'),
      });
      const counts = Object.values(info.state.subjects ?? {});
      expect(counts).toHaveLength(1);
      expect(counts[0]).toBeLessThanOrEqual(2 * 5 + 1);
    });
  });

  it('removes deleted crons and fired schedules once the retention is up', async () => {
    const source = new FinishedRuns();
    const { skein, n } = await retained(source);
    const job = skein.task({ name: 'job', fn: () => 1 });
    await (await skein.worker('w', { workflows: [job] })).start();
    const cron = await job.createCron('gone', '0 3 * * *');
    await skein.crons.delete(cron.id);
    const scheduled = await job.schedule(new Date(Date.now() + 200));
    await vi.waitFor(async () =>
      expect((await skein.schedules.list()).find((s) => s.id === scheduled.id)?.status).toBe(
        'TRIGGERED',
      ),
    );
    await vi.waitFor(
      async () => {
        expect(await stored(n.streams.journal, n.journalSubject('cron', cron.id))).toBe(0);
        expect(await stored(n.streams.journal, n.journalSubject('schedule', scheduled.id))).toBe(0);
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(await skein.schedules.list()).toEqual([]);
    // A cron made again under the same name starts afresh.
    const again = await job.createCron('gone', '0 4 * * *');
    expect((await skein.crons.list()).map((c) => [c.id, c.expression])).toEqual([
      [again.id, '0 4 * * *'],
    ]);
  });
});

describe('logs', () => {
  it('are kept as long as their run, and read by no consumer (so a purge of one run is safe)', async () => {
    const { n } = await retained(new FinishedRuns());
    const info = await jsm.streams.info(n.streams.logs);
    expect(info.config.max_age).toBe(0);
    expect(info.config.max_msgs_per_subject).toBe(10_000);
    expect(info.state.consumer_count).toBe(0);
  });
});

describe('KV hygiene', () => {
  it('leaves no delete markers in the snapshots bucket when runs go', async () => {
    const source = new FinishedRuns();
    const { skein, n } = await retained(source, { snapshotEvery: 2 });
    const task = skein.durableTask({
      name: 'snap',
      fn: async (_input, ctx) => {
        for (let i = 0; i < 3; i++) await ctx.memo(() => i);
        return 1;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const refs = await task.runManyNoWait(Array.from({ length: 20 }, () => ({ input: {} })));
    await Promise.all(refs.map((r) => r.result()));
    const stream = kvStream(n.buckets.snapshots);
    expect((await jsm.streams.info(stream)).state.messages).toBeGreaterThanOrEqual(20);
    source.watch(...refs.map((r) => r.runId));
    await vi.waitFor(() => expect(source.forgotten).toHaveLength(20), { timeout: 15_000 });
    // The router's progress may be kept there too (once events were routed): not a run's.
    const left = (await jsm.streams.info(stream, { subjects_filter: '>' })).state.subjects ?? {};
    const runs = Object.keys(left).filter((subject) => !subject.endsWith('.router-progress'));
    expect(runs).toEqual([]);
  });

  it('bounds the buckets whose keys are deleted by time: leases and workers', async () => {
    const { n } = await retained(new FinishedRuns());
    for (const bucket of [n.buckets.leases, n.buckets.workers]) {
      const config = (await jsm.streams.info(kvStream(bucket))).config;
      expect(config.max_age).toBeGreaterThan(0);
    }
  });
});
