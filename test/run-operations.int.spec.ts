/** Time travel (runs.get at a seq), replay from a task, bulk cancel and replay by filter, and who did each. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunFailedError, ValidationError, type Skein } from 'skein';
import { aborted, gate } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { SOON } from './support/patience.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const statusOf = async (skein: Skein, runId: string) => (await skein.runs.get(runId)).status;

/** The data of the last `type` event in a run's history. */
async function lastOfType(skein: Skein, runId: string, type: string) {
  const history = await skein.runs.history(runId);
  return history.filter((e) => e.type === type).at(-1)?.data;
}

describe('time travel', () => {
  it('shows the run as it was right after any event of its history', async () => {
    const { skein } = await env.client();
    const hold = gate();
    const slow = skein.task({ name: 'slow', fn: async () => (await hold.promise, 'done') });
    await (await skein.worker('w', { workflows: [slow] })).start();
    const ref = await slow.runNoWait({});
    await vi.waitFor(async () => expect(await statusOf(skein, ref.runId)).toBe('RUNNING'), SOON);
    hold.open();
    expect(await ref.result()).toBe('done');

    const history = await skein.runs.history(ref.runId);
    const seqOf = (type: string) => history.find((e) => e.type === type)!.seq;
    expect(history.at(-1)!.type).toBe('RunCompleted');

    const queued = await skein.runs.get(ref.runId, { at: seqOf('TaskQueued') });
    expect(queued.status).toBe('QUEUED');
    expect(queued.tasks[0]).toMatchObject({ name: 'slow', status: 'QUEUED', output: null });
    expect(queued.finishedAt).toBeNull();

    const started = await skein.runs.get(ref.runId, { at: seqOf('TaskStarted') });
    expect(started.status).toBe('RUNNING');
    expect(started.tasks[0]).toMatchObject({ status: 'RUNNING', attempts: 1 });

    const now = await skein.runs.get(ref.runId);
    expect(await skein.runs.get(ref.runId, { at: history.at(-1)!.seq })).toEqual(now);
    // Past the end: the run as it is now.
    expect(await skein.runs.get(ref.runId, { at: 10_000 })).toEqual(now);
    expect(now).toMatchObject({ status: 'COMPLETED', output: 'done' });

    await expect(skein.runs.get(ref.runId, { at: 0 })).rejects.toThrow(ValidationError);
    await expect(skein.runs.get(ref.runId, { seq: 1 } as never)).rejects.toThrow(/'seq'/);
  });
});

describe('replay from a task', () => {
  it('keeps the outputs of tasks that succeeded and runs the failed one and its dependents again', async () => {
    const { skein } = await env.client();
    const runs = { fetch: 0, charge: 0, ship: 0 };
    let chargeFails = true;
    const wf = skein.workflow({ name: 'order' });
    const fetch = wf.task({ name: 'fetch', fn: () => ({ n: ++runs.fetch }) });
    const charge = wf.task({
      name: 'charge',
      parents: [fetch],
      fn: (_in, ctx) => {
        runs.charge++;
        if (chargeFails) throw new Error('card declined');
        return { charged: ctx.parentOutput(fetch).n };
      },
    });
    wf.task({ name: 'ship', parents: [charge], fn: () => ++runs.ship });
    await (await skein.worker('w', { workflows: [wf] })).start();

    const ref = await wf.runNoWait({});
    await expect(ref.result()).rejects.toThrow(RunFailedError);
    expect(runs).toEqual({ fetch: 1, charge: 1, ship: 0 });

    await expect(skein.runs.replay(ref.runId, { fromTask: 'nope' })).rejects.toThrow(
      /has no task 'nope'/,
    );
    await expect(skein.runs.replay(ref.runId, { from: 'charge' } as never)).rejects.toThrow(
      /'from'/,
    );

    chargeFails = false;
    await skein.runs.replay(ref.runId, { fromTask: 'charge', by: 'dashboard' });
    await vi.waitFor(async () => expect(await statusOf(skein, ref.runId)).toBe('COMPLETED'), SOON);
    expect(runs).toEqual({ fetch: 1, charge: 2, ship: 1 });
    const run = await skein.runs.get(ref.runId);
    expect(run.output).toEqual({ fetch: { n: 1 }, charge: { charged: 1 }, ship: 1 });
    expect(await lastOfType(skein, ref.runId, 'RunReplayed')).toEqual({
      by: 'dashboard',
      fromTask: 'charge',
    });
  });
});

describe('bulk actions by filter', () => {
  it('cancels exactly the runs that match and have not ended, and replays the ended ones', async () => {
    const { skein } = await env.client();
    let executions = 0;
    const wait = skein.task({
      name: 'wait',
      fn: async (_in: unknown, ctx) => {
        executions++;
        await aborted(ctx.signal);
      },
    });
    const quick = skein.task({ name: 'quick', fn: () => 'ok' });
    await (await skein.worker('w', { workflows: [wait, quick], slots: 10 })).start();
    const start = (batch: string) =>
      wait.runNoWait({}, { additionalMetadata: { batch } }).then((r) => r.runId);
    const mine = [await start('x'), await start('x'), await start('x')];
    const others = [await start('y'), await start('y')];
    const done = await quick.runNoWait({}, { additionalMetadata: { batch: 'x' } });
    await done.result();
    await vi.waitFor(async () => {
      expect((await skein.runs.counts({ name: 'wait' })).RUNNING).toBe(5);
    }, SOON);

    await expect(skein.runs.cancel({ filter: { batch: 'x' } as never })).rejects.toThrow(
      /unknown option 'batch'/,
    );
    const cancelled = await skein.runs.cancel({
      filter: { additionalMetadata: { batch: 'x' } },
      by: 'cli',
    });
    expect(cancelled).toEqual({ count: 3 });
    await vi.waitFor(async () => {
      for (const id of mine) expect(await statusOf(skein, id)).toBe('CANCELLED');
    }, SOON);
    for (const id of others) expect(await statusOf(skein, id)).toBe('RUNNING');
    expect(await statusOf(skein, done.runId)).toBe('COMPLETED');
    expect(await lastOfType(skein, mine[0], 'RunCancelled')).toMatchObject({ by: 'cli' });

    // One by id, without `by`: recorded as the SDK's.
    await skein.runs.cancel(others[0]);
    await vi.waitFor(async () => expect(await statusOf(skein, others[0])).toBe('CANCELLED'), SOON);
    expect(await lastOfType(skein, others[0], 'RunCancelled')).toEqual({
      reason: 'cancelled by user',
      by: 'sdk',
    });

    // Replay every ended run of batch x: the three cancelled and the completed one.
    const before = executions;
    const replayed = await skein.runs.replay({ filter: { additionalMetadata: { batch: 'x' } } });
    expect(replayed).toEqual({ count: 4 });
    await vi.waitFor(async () => expect(executions).toBe(before + 3), SOON);
    expect(await lastOfType(skein, done.runId, 'RunReplayed')).toEqual({ by: 'sdk' });
    // Nothing left to cancel in batch y but the one still running.
    expect(
      await skein.runs.cancel({
        filter: { additionalMetadata: { batch: 'y' }, status: 'RUNNING' },
      }),
    ).toEqual({ count: 1 });
    await skein.runs.cancel({ filter: { name: 'wait' } });
  });
});
