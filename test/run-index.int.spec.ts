/** The run index: runs.page, runs.counts and runs.list filters, paging, consistency, restart and leader change. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ValidationError, type Skein } from 'skein';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { gate } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';
import { names } from '../runtime/protocol.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** Every page of `query` (newest first), following the cursor. */
async function allPages(skein: Skein, query: Parameters<Skein['runs']['page']>[0], limit = 3) {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await skein.runs.page({ ...query, limit, cursor });
    ids.push(...page.runs.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

describe('run index', () => {
  it('filters, pages with a cursor and counts, including runs that are retrying', async () => {
    const { skein } = await env.client();
    const hold = gate();
    const alpha = skein.task({ name: 'alpha', fn: (n: number) => n });
    const boom = skein.task({
      name: 'boom',
      fn: () => {
        throw new TypeError('kaboom');
      },
    });
    const flaky = skein.task({
      name: 'flaky',
      retries: 3,
      backoff: { factor: 600, maxSeconds: 600 },
      fn: () => {
        throw new RangeError('not yet');
      },
    });
    const slow = skein.task({ name: 'slow', fn: () => hold.promise });
    const worker = await skein.worker('w', { workflows: [alpha, boom, flaky, slow], slots: 10 });
    await worker.start();

    const alphaIds: string[] = [];
    for (let i = 0; i < 7; i++) {
      const ref = await alpha.runNoWait(i, {
        additionalMetadata: { tenant: i % 2 ? 'odd' : 'even' },
      });
      await ref.result();
      alphaIds.push(ref.runId);
      // A resolved run is in the index at once: no waiting.
      const newest = await skein.runs.page({ name: 'alpha', limit: 1 });
      expect(newest.runs[0]).toMatchObject({ id: ref.runId, status: 'COMPLETED' });
    }
    const boomIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const ref = await boom.runNoWait({});
      await expect(ref.result()).rejects.toThrow('kaboom');
      boomIds.push(ref.runId);
    }
    const flakyRef = await flaky.runNoWait({});
    const slowRef = await slow.runNoWait({});
    await vi.waitFor(async () => {
      expect((await skein.runs.counts({ retrying: true })).retrying).toBe(1);
      expect((await skein.runs.get(slowRef.runId)).status).toBe('RUNNING');
    }, SOON);

    // Paging: newest first, each run once, across pages of 3.
    expect(await allPages(skein, { name: 'alpha' })).toEqual([...alphaIds].reverse());
    expect(await allPages(skein, {}, 4)).toHaveLength(11);
    // Filters combine with AND.
    expect(await allPages(skein, { name: 'alpha', additionalMetadata: { tenant: 'odd' } })).toEqual(
      [alphaIds[5], alphaIds[3], alphaIds[1]],
    );
    expect(await allPages(skein, { status: ['FAILED', 'RUNNING'] })).toHaveLength(4);
    expect(await allPages(skein, { errorContains: 'KABOOM' })).toEqual([...boomIds].reverse());
    expect(await allPages(skein, { errorContains: 'TypeError', status: 'FAILED' })).toHaveLength(2);
    expect(await allPages(skein, { workerId: worker.id, name: ['boom', 'slow'] })).toHaveLength(3);
    expect(await allPages(skein, { workerId: 'nobody' })).toEqual([]);

    const [retrying] = (await skein.runs.page({ retrying: true })).runs;
    expect(retrying).toMatchObject({
      id: flakyRef.runId,
      name: 'flaky',
      kind: 'task',
      status: 'RUNNING',
      retrying: true,
      attempts: 2,
      errorClass: 'RangeError',
      workerIds: [worker.id],
      finishedAt: null,
    });
    expect(retrying.waitingFor).toContain('retry');
    const [failed] = (await skein.runs.page({ name: 'boom', limit: 1 })).runs;
    expect(failed).toMatchObject({ status: 'FAILED', errorClass: 'TypeError', retrying: false });
    expect(failed.error).toContain('kaboom');
    expect(failed.createdAt).toBeInstanceOf(Date);
    expect(failed.durationMs).toBeGreaterThanOrEqual(0);

    expect(await skein.runs.counts()).toEqual({
      QUEUED: 0,
      RUNNING: 2,
      COMPLETED: 7,
      FAILED: 2,
      CANCELLED: 0,
      retrying: 1,
    });
    expect(await skein.runs.counts({ additionalMetadata: { tenant: 'even' } })).toMatchObject({
      COMPLETED: 4,
      retrying: 0,
    });

    // runs.list: the same filters, RunInfo objects as runs.get gives.
    const listed = await skein.runs.list({
      name: ['alpha'],
      additionalMetadata: { tenant: 'even' },
      limit: 2,
    });
    expect(listed.map((r) => r.id)).toEqual([alphaIds[6], alphaIds[4]]);
    expect(listed[0]).toMatchObject({ output: 6, tasks: [{ name: 'alpha', status: 'COMPLETED' }] });
    expect((await skein.runs.list({ retrying: true })).map((r) => r.id)).toEqual([flakyRef.runId]);

    // Refused queries.
    await expect(skein.runs.page({ nme: 'alpha' } as never)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(skein.runs.counts({ limit: 3 } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.page({ cursor: 'garbage' })).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.page({ status: 'DONE' as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
    hold.open();
    await slowRef.result();
    expect((await skein.runs.counts({ name: 'slow' })).COMPLETED).toBe(1);
  });

  it('shows what started a run, its kind, and what it waits on', async () => {
    const { skein } = await env.client();
    const waiter = skein.durableTask({
      name: 'waiter',
      onEvents: ['order:placed'],
      fn: async (_input: unknown, ctx) => ctx.waitForEvent('order:paid'),
    });
    const wf = skein.workflow<{ n: number }>({ name: 'flow' });
    wf.task({ name: 'step', fn: (input) => input.n });
    await (await skein.worker('w', { workflows: [waiter, wf] })).start();
    const { eventId } = await skein.events.push('order:placed', {});
    await vi.waitFor(async () => {
      const [run] = (await skein.runs.page({ name: 'waiter' })).runs;
      expect(run).toMatchObject({
        kind: 'durable',
        status: 'RUNNING',
        startedBy: { type: 'event', id: eventId, name: 'order:placed' },
        waitingFor: "event 'order:paid'",
      });
    }, SOON);
    await wf.run({ n: 1 });
    expect((await skein.runs.page({ name: 'flow' })).runs[0]).toMatchObject({
      kind: 'workflow',
      status: 'COMPLETED',
      startedBy: null,
      waitingFor: null,
    });
    await skein.events.push('order:paid', { ok: true });
    await vi.waitFor(
      async () =>
        expect((await skein.runs.page({ name: 'waiter' })).runs[0].status).toBe('COMPLETED'),
      SOON,
    );
  });

  it('a run seen by runs.get is in the index in that state', async () => {
    const { skein } = await env.client();
    const child = skein.task({ name: 'child', fn: (n: number) => n });
    const parent = skein.task({
      name: 'parent',
      fn: async (n: number) => child.run(n),
    });
    await (await skein.worker('w', { workflows: [parent, child], slots: 4 })).start();
    const ref = await parent.runNoWait(1);
    await vi.waitFor(
      async () => expect((await skein.runs.get(ref.runId)).status).toBe('COMPLETED'),
      SOON,
    );
    const page = await skein.runs.page({ parentRunId: ref.runId });
    expect(page.runs).toHaveLength(1);
    expect(page.runs[0]).toMatchObject({
      name: 'child',
      status: 'COMPLETED',
      parentRunId: ref.runId,
    });
    expect((await skein.runs.page({ name: 'parent' })).runs[0].status).toBe('COMPLETED');
  });

  it('after a restart: rebuilt from its checkpoint plus the journal after it', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const engineOpts = { logger, runIndex: { checkpointEveryMs: 200 } };
    const { skein, engine, namespace, startEngine } = await env.client({ engine: engineOpts });
    const task = skein.task({ name: 'twice', fn: (n: number) => n * 2 });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    const before = await task.runMany([{ input: 1 }, { input: 2 }, { input: 3 }]);
    expect(before).toEqual([2, 4, 6]);
    await skein.runs.counts(); // the index has read them; a checkpoint follows within 200 ms
    const nc = await connect({ servers: env.url });
    const jsm = await jetstreamManager(nc);
    const objectStream = `OBJ_${names(namespace).buckets.runIndex}`;
    await vi.waitFor(
      async () => expect((await jsm.streams.info(objectStream)).state.messages).toBeGreaterThan(0),
      SOON,
    );
    await engine.stop();
    // Created while no engine runs: only in the journal after the checkpoint.
    const queued = await task.runNoWait(4);
    lines.length = 0;
    await startEngine(engineOpts);
    const counts = await skein.runs.counts({ name: 'twice' });
    expect(counts.COMPLETED + counts.QUEUED + counts.RUNNING).toBe(4);
    expect(counts.COMPLETED).toBeGreaterThanOrEqual(3);
    await queued.result();
    expect(await skein.runs.counts({ name: 'twice' })).toMatchObject({ COMPLETED: 4, QUEUED: 0 });
    const started = lines.map(
      (l) => JSON.parse(l) as { msg: string; runs?: number; fromSeq?: number },
    );
    const fromCheckpoint = started.find((l) => l.msg === 'run index started from its checkpoint');
    expect(fromCheckpoint?.runs).toBeGreaterThanOrEqual(3);
    expect(fromCheckpoint?.fromSeq).toBeGreaterThan(1);
    await nc.close();
  });

  it('stays right when the scheduler consumer it follows is deleted behind the engine', async () => {
    const { skein, namespace } = await env.client();
    const task = skein.task({ name: 'again', fn: (n: number) => n });
    await (await skein.worker('w', { workflows: [task] })).start();
    await task.runMany([{ input: 1 }, { input: 2 }]);
    expect((await skein.runs.counts()).COMPLETED).toBe(2);
    const nc = await connect({ servers: env.url });
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(names(namespace).streams.journal, 'scheduler');
    // The engine makes it again; runs go on and the index sees each of them.
    for (let i = 3; i <= 6; i++) {
      expect(await task.run(i)).toBe(i);
      expect((await skein.runs.counts()).COMPLETED).toBe(i);
    }
    await nc.close();
  });

  it('two engines: queries stay right when the leader stops and the other takes over', async () => {
    const fast = { leaseRenewMs: 300 };
    const first = await env.client({ engine: fast });
    const { skein } = first;
    const second = await first.startEngine(fast);
    const task = skein.task({ name: 'pair', fn: (n: number) => n });
    await (await skein.worker('w', { workflows: [task], slots: 10 })).start();
    const ids = (await Promise.all([1, 2, 3, 4, 5].map((n) => task.runNoWait(n)))).map(
      (r) => r.runId,
    );
    await Promise.all(ids.map((id) => skein.runRef(id).result()));
    expect((await skein.runs.counts()).COMPLETED).toBe(5);

    const leader = first.engine.isLeader() ? first.engine : second;
    const other = leader === first.engine ? second : first.engine;
    await leader.stop();
    // Asked at once: answered once the other engine leads, and right.
    expect((await skein.runs.counts()).COMPLETED).toBe(5);
    expect(other.isLeader()).toBe(true);
    const more = await task.run(6);
    expect(more).toBe(6);
    const page = await skein.runs.page({ name: 'pair', limit: 10 });
    expect(page.runs).toHaveLength(6);
    expect(page.runs.every((r) => r.status === 'COMPLETED')).toBe(true);
    expect(new Set(page.runs.map((r) => r.id))).toEqual(new Set([...ids, page.runs[0].id]));
  });
});
