/** skein.runs: get, list and history of standalone runs, against a real engine. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NotFoundError, ValidationError, type RunInfo } from 'skein';
import { gate } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const RUN_FIELDS = [
  'id',
  'name',
  'status',
  'input',
  'output',
  'error',
  'errorClass',
  'additionalMetadata',
  'createdAt',
  'startedAt',
  'finishedAt',
  'tasks',
];
const TASK_FIELDS = [
  'name',
  'status',
  'attempts',
  'workerId',
  'output',
  'error',
  'errorClass',
  'startedAt',
  'finishedAt',
];

describe('runs.get', () => {
  it('shows a run through QUEUED, RUNNING and COMPLETED with every documented field', async () => {
    const { skein } = await env.client();
    const release = gate();
    const task = skein.task({
      name: 'shape',
      fn: async (input: { x: number }) => {
        await release.promise;
        return { y: input.x + 1 };
      },
    });
    const ref = await task.runNoWait({ x: 1 }, { additionalMetadata: { k: 'v' } });
    const queued = await skein.runs.get(ref.runId);
    expect(queued).toMatchObject({
      id: ref.runId,
      name: 'shape',
      status: 'QUEUED',
      startedAt: null,
      finishedAt: null,
      output: null,
    });
    expect(queued.tasks[0]).toMatchObject({ name: 'shape', status: 'QUEUED', workerId: null });

    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    await vi.waitFor(
      async () => expect((await skein.runs.get(ref.runId)).status).toBe('RUNNING'),
      SOON,
    );
    const running = await skein.runs.get(ref.runId);
    expect(running.tasks[0]).toMatchObject({
      status: 'RUNNING',
      attempts: 1,
      workerId: worker.id,
      finishedAt: null,
    });
    expect(running.startedAt).toBeInstanceOf(Date);

    release.open();
    await ref.result();
    const run: RunInfo = await skein.runs.get(ref.runId);
    for (const field of RUN_FIELDS) expect(run).toHaveProperty(field);
    expect(run).toMatchObject({
      id: ref.runId,
      name: 'shape',
      status: 'COMPLETED',
      input: { x: 1 },
      output: { y: 2 },
      error: null,
      additionalMetadata: { k: 'v' },
    });
    expect(run.createdAt).toBeInstanceOf(Date);
    expect(run.startedAt).toBeInstanceOf(Date);
    expect(run.finishedAt).toBeInstanceOf(Date);
    expect(run.createdAt.getTime()).toBeLessThanOrEqual(run.startedAt!.getTime());
    expect(run.startedAt!.getTime()).toBeLessThanOrEqual(run.finishedAt!.getTime());
    expect(Math.abs(run.createdAt.getTime() - Date.now())).toBeLessThan(60_000);

    expect(run.tasks).toHaveLength(1);
    const t = run.tasks[0];
    for (const field of TASK_FIELDS) expect(t).toHaveProperty(field);
    expect(t).toMatchObject({
      name: 'shape',
      status: 'COMPLETED',
      attempts: 1,
      workerId: worker.id,
      output: { y: 2 },
      error: null,
    });
    expect(typeof t.attempts).toBe('number');
    expect(t.startedAt).toBeInstanceOf(Date);
    expect(t.finishedAt).toBeInstanceOf(Date);
    expect(t.startedAt!.getTime()).toBeLessThanOrEqual(t.finishedAt!.getTime());
  });

  it('an unknown id rejects with NotFoundError naming it; an empty one with ValidationError', async () => {
    const { skein } = await env.client();
    const err = await skein.runs.get('no-such-run').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain('no-such-run');
    await expect(skein.runs.history('no-such-run')).rejects.toBeInstanceOf(NotFoundError);
    await expect(skein.runs.get('')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('runs.list', () => {
  it('lists newest first and filters by name, status, since/until, metadata and limit', async () => {
    const { skein } = await env.client();
    const ok = skein.task({ name: 'ok', fn: (n: number) => n });
    const bad = skein.task({
      name: 'bad',
      fn: () => {
        throw new Error('no');
      },
    });
    await (await skein.worker('w', { workflows: [ok, bad] })).start();

    const before = new Date(Date.now() - 1);
    const okIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ref = await ok.runNoWait(i, { additionalMetadata: { parity: i % 2 ? 'odd' : 'even' } });
      await ref.result();
      okIds.push(ref.runId);
    }
    const middle = new Date((await skein.runs.get(okIds[1])).createdAt.getTime());
    const badRef = await bad.runNoWait(0);
    await badRef.result().catch(() => undefined);
    const after = new Date(Date.now() + 1);

    const all = await skein.runs.list();
    expect(all.map((r) => r.id)).toEqual([badRef.runId, ...[...okIds].reverse()]);
    const created = all.map((r) => r.createdAt.getTime());
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(all[0].createdAt).toBeInstanceOf(Date);
    expect(all[1].tasks[0].attempts).toBe(1);

    expect((await skein.runs.list({ name: 'ok' })).map((r) => r.id)).toEqual([...okIds].reverse());
    expect(await skein.runs.list({ name: 'nothing' })).toEqual([]);
    expect((await skein.runs.list({ status: 'FAILED' })).map((r) => r.id)).toEqual([badRef.runId]);
    expect((await skein.runs.list({ status: 'COMPLETED' })).map((r) => r.id)).toEqual(
      [...okIds].reverse(),
    );
    expect(await skein.runs.list({ status: 'QUEUED' })).toEqual([]);
    expect((await skein.runs.list({ since: middle, name: 'ok' })).map((r) => r.id)).toEqual([
      okIds[3],
      okIds[2],
      okIds[1],
    ]);
    expect((await skein.runs.list({ until: middle })).map((r) => r.id)).toEqual([
      okIds[1],
      okIds[0],
    ]);
    expect(await skein.runs.list({ since: after })).toEqual([]);
    expect(await skein.runs.list({ until: before })).toEqual([]);
    expect(
      (await skein.runs.list({ additionalMetadata: { parity: 'odd' } })).map((r) => r.id),
    ).toEqual([okIds[3], okIds[1]]);
    expect((await skein.runs.list({ limit: 2 })).map((r) => r.id)).toEqual([
      badRef.runId,
      okIds[3],
    ]);
    expect(
      (await skein.runs.list({ name: 'ok', status: 'COMPLETED', limit: 1 })).map((r) => r.id),
    ).toEqual([okIds[3]]);
  });

  it('shows QUEUED and RUNNING runs under their status', async () => {
    const { skein } = await env.client();
    const release = gate();
    const held = skein.task({ name: 'held', fn: () => release.promise.then(() => 'ok') });
    const orphan = skein.task({ name: 'orphan', fn: () => 'never' });
    await (await skein.worker('w', { workflows: [held] })).start();
    const running = await held.runNoWait({});
    const queued = await orphan.runNoWait({});
    await vi.waitFor(
      async () =>
        expect((await skein.runs.list({ status: 'RUNNING' })).map((r) => r.id)).toEqual([
          running.runId,
        ]),
      SOON,
    );
    expect((await skein.runs.list({ status: 'QUEUED' })).map((r) => r.id)).toEqual([queued.runId]);
    release.open();
    await running.result();
    await skein.runs.cancel(queued.runId);
  });

  it('lists each run once while runs are ending', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'quick-list',
      fn: async (n: number) => (await new Promise((r) => setTimeout(r, n % 50)), n),
    });
    await (await skein.worker('w', { workflows: [task], slots: 50 })).start();
    const refs = await task.runManyNoWait(Array.from({ length: 300 }, (_, n) => ({ input: n })));
    const done = Promise.all(refs.map((r) => r.result()));
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      const ids = (await skein.runs.list({ limit: 1000 })).map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    await done;
  });

  it('a limit over 1000 or under 1 rejects with ValidationError', async () => {
    const { skein } = await env.client();
    for (const limit of [1001, 0, -5, 2.5]) {
      const err = await skein.runs.list({ limit }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/limit/);
    }
    expect(await skein.runs.list({ limit: 1000 })).toEqual([]);
  });
});

describe('runs.history', () => {
  it('is [{ seq, type, at, data }] in seq order from RunTriggered to the run’s end', async () => {
    const { skein } = await env.client();
    const ok = skein.task({ name: 'ok', fn: (n: number) => n * 2 });
    const bad = skein.task({
      name: 'bad',
      fn: () => {
        throw new Error('no');
      },
    });
    await (await skein.worker('w', { workflows: [ok, bad] })).start();
    const okRef = await ok.runNoWait(4);
    await okRef.result();
    const history = await skein.runs.history(okRef.runId);
    expect(history.map((e) => e.type)).toEqual([
      'RunTriggered',
      'TaskQueued',
      'TaskStarted',
      'TaskSucceeded',
      'RunCompleted',
    ]);
    expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const e of history) {
      expect(e.at).toBeInstanceOf(Date);
      expect(typeof e.data).toBe('object');
    }
    const ats = history.map((e) => e.at.getTime());
    expect(ats[0]).toBeLessThanOrEqual(ats.at(-1)!);
    expect(history[0].data).toMatchObject({ input: 4 });
    expect(history.at(-1)!.data).toMatchObject({ output: 8 });

    const badRef = await bad.runNoWait(0);
    await badRef.result().catch(() => undefined);
    const failed = await skein.runs.history(badRef.runId);
    expect(failed[0].type).toBe('RunTriggered');
    expect(failed.at(-1)!.type).toBe('RunFailed');
    expect(failed.at(-1)!.data).toMatchObject({
      errors: { bad: 'Error: no' },
      errorClass: 'Error',
    });
  });
});
