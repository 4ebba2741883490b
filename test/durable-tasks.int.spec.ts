/** Durable tasks: each durable call of DurableContext, recorded in the run and replayed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Or, SleepCondition, UserEventCondition, RunFailedError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('durable tasks', () => {
  it('sleeps durably, for about the asked time, and returns the time slept', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'napper',
      fn: async (_input, ctx) => {
        const before = Date.now();
        const slept = await ctx.sleepFor('1s');
        return { slept: slept.durationMs, wall: Date.now() - before };
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const out = await task.run({});
    expect(out.slept).toBeGreaterThanOrEqual(1000);
    expect(out.slept).toBeLessThan(3000);
    expect(out.wall).toBeGreaterThanOrEqual(950);
  });

  it('waits for an event whose payload matches, and returns that payload', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask<{ user: string }>({
      name: 'approval-waiter',
      fn: async (input, ctx) => {
        const payload = await ctx.waitForEvent<{ user: string; ok: boolean }>(
          'user:approved',
          `input.user == '${input.user}'`,
        );
        return { approvedBy: payload.user, ok: payload.ok };
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({ user: 'ann' });
    await expect.poll(async () => (await skein.runs.get(ref.runId)).status).toBe('RUNNING');
    await waitForHistory(skein, ref.runId, 'DurableWaitStarted');
    await skein.events.push('user:approved', { user: 'bob', ok: false });
    await skein.events.push('user:approved', { user: 'ann', ok: true });
    expect(await ref.result()).toEqual({ approvedBy: 'ann', ok: true });
  });

  it('waitForEvent with a scope takes only an event pushed with that scope', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'scoped-waiter',
      fn: async (_input, ctx) => ctx.waitForEvent('invoice:paid', '', { scope: 'tenant-a' }),
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    await waitForHistory(skein, ref.runId, 'DurableWaitStarted');
    await skein.events.push('invoice:paid', { for: 'b' }, { scope: 'tenant-b' });
    await skein.events.push('invoice:paid', { for: 'a' }, { scope: 'tenant-a' });
    expect(await ref.result()).toEqual({ for: 'a' });
  });

  it('waitFor with Or(sleep, event) returns the data of the condition that held', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'or-waiter',
      fn: async (_input, ctx) =>
        ctx.waitFor(
          Or(
            new SleepCondition('30s', 'timeout'),
            new UserEventCondition('doc:signed', '', 'signed'),
          ),
        ),
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    await waitForHistory(skein, ref.runId, 'DurableWaitStarted');
    await skein.events.push('doc:signed', { by: 'carol' });
    expect(await ref.result()).toEqual({ signed: { by: 'carol' } });
  });

  it('memo, now and uuid are recorded once: a retried attempt gets the same values', async () => {
    const { skein } = await env.client();
    let calls = 0;
    const task = skein.durableTask({
      name: 'memo-retry',
      retries: 1,
      fn: async (_input, ctx) => {
        const charged = await ctx.memo(async (amount: number) => {
          calls++;
          return { charged: amount, n: calls };
        }, 42);
        const at = await ctx.now();
        const id = await ctx.uuid();
        if (ctx.attemptNumber === 1) throw new Error('flaky after the charge');
        return { charged, at: at.toISOString(), id };
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    const out = await ref.result();
    expect(calls).toBe(1);
    expect(out.charged).toEqual({ charged: 42, n: 1 });
    const history = await skein.runs.history(ref.runId);
    const recorded = history.filter((e) => e.type === 'DurableCallRecorded');
    expect(recorded.map((e) => e.data.kind)).toEqual(['memo', 'now', 'uuid']);
    expect(new Date(recorded[1].data.result as number).toISOString()).toBe(out.at);
    expect(recorded[2].data.result).toBe(out.id);
  });

  it('a child run inside a durable task is journaled: its result returns on replay, it starts once', async () => {
    const { skein } = await env.client();
    let childRuns = 0;
    const child = skein.task({
      name: 'durable-child',
      fn: (input: { n: number }) => {
        childRuns++;
        return { doubled: input.n * 2 };
      },
    });
    const parent = skein.durableTask({
      name: 'durable-parent',
      retries: 1,
      fn: async (_input, ctx) => {
        const out = await child.run({ n: 21 });
        if (ctx.attemptNumber === 1) throw new Error('fail after the child');
        return out;
      },
    });
    await (await skein.worker('w', { workflows: [child, parent] })).start();
    const ref = await parent.runNoWait({});
    expect(await ref.result()).toEqual({ doubled: 42 });
    expect(childRuns).toBe(1);
    const history = await skein.runs.history(ref.runId);
    expect(history.filter((e) => e.type === 'ChildFinished')).toHaveLength(1);
  });

  it('fails the attempt with NonDeterminismError, without retry, when replay takes another path', async () => {
    const { skein } = await env.client();
    let attempt = 0;
    const task = skein.durableTask({
      name: 'changes-path',
      retries: 3,
      fn: async (_input, ctx) => {
        attempt++;
        if (attempt === 1) {
          await ctx.memo(function first() {
            return 1;
          });
          throw new Error('retry me');
        }
        await ctx.sleepFor('10ms');
        return 'unreachable';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    const message = (err as RunFailedError).errors['changes-path'];
    expect(message).toMatch(/^NonDeterminismError: durable task 'changes-path' took another path/);
    expect(message).toMatch(/position 0/);
    expect(message).toMatch(/memo\(first/);
    expect(message).toMatch(/sleep\(sleepFor\)/);
    expect(attempt).toBe(2);
    const run = await skein.runs.get(ref.runId);
    expect(run.error).toMatch(/^NonDeterminismError: durable task 'changes-path'/);
    expect(run.errorClass).toBe('NonDeterminismError');
  });
});

describe('durable tasks in workflows, and more durable calls', () => {
  it('wf.durableTask runs after its parent, with its output, and waits durably inside the DAG', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow<{ orderId: string }>({ name: 'fulfilment' });
    const pack = wf.task({ name: 'pack', fn: (input) => ({ parcel: `p-${input.orderId}` }) });
    const ship = wf.durableTask({
      name: 'ship',
      parents: [pack],
      fn: async (_input, ctx) => {
        const parcel = ctx.parentOutput(pack).parcel;
        const pickup = await ctx.waitForEvent<{ courier: string }>('courier:arrived');
        return { parcel, courier: pickup.courier };
      },
    });
    wf.task({
      name: 'notify',
      parents: [ship],
      fn: (_input, ctx) => `shipped with ${ctx.parentOutput(ship).courier}`,
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const ref = await wf.runNoWait({ orderId: 'o-5' });
    await waitForHistory(skein, ref.runId, 'DurableWaitStarted');
    const run = await skein.runs.get(ref.runId);
    expect(run.tasks.find((t) => t.name === 'ship')?.status).toBe('RUNNING');
    await skein.events.push('courier:arrived', { courier: 'dhl' });
    expect(await ref.result()).toEqual({
      pack: { parcel: 'p-o-5' },
      ship: { parcel: 'p-o-5', courier: 'dhl' },
      notify: 'shipped with dhl',
    });
  });

  it('sleepUntil wakes at the given time, and at once for a time past', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'alarm',
      fn: async (input: { at: number }, ctx) => {
        await ctx.sleepUntil(new Date(input.at));
        return Date.now() - input.at;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const late = await task.run({ at: Date.now() + 800 });
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1500);
    expect(await task.run({ at: Date.now() - 60_000 })).toBeLessThan(62_000);
  });

  it('runNoWait inside a durable task starts the child once and records its id', async () => {
    const { skein } = await env.client();
    let childRuns = 0;
    const child = skein.task({
      name: 'spawned',
      fn: () => {
        childRuns++;
        return 'child done';
      },
    });
    const parent = skein.durableTask({
      name: 'spawner',
      retries: 1,
      fn: async (_input, ctx) => {
        const ref = await child.runNoWait({});
        if (ctx.attemptNumber === 1) throw new Error('fail after spawning');
        return { childRunId: ref.runId, childOutput: await ref.result() };
      },
    });
    await (await skein.worker('w', { workflows: [child, parent] })).start();
    const ref = await parent.runNoWait({});
    const out = await ref.result();
    expect(out.childOutput).toBe('child done');
    expect(childRuns).toBe(1);
    expect((await skein.runs.get(out.childRunId)).parentRunId).toBe(ref.runId);
  });

  it('refuses a durable call made while another waits, naming both', async () => {
    const { skein } = await env.client();
    const task = skein.durableTask({
      name: 'impatient',
      fn: async (_input, ctx) => {
        const sleeping = ctx.sleepFor('1s');
        try {
          await ctx.now();
        } finally {
          await sleeping;
        }
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    await expect(task.run({})).rejects.toThrow(/called now while it waits on sleep\(sleepFor\)/);
  });
});

describe('bad durable calls', () => {
  it('fail the attempt with a message naming what was wrong', async () => {
    const { skein } = await env.client();
    const bad = skein.durableTask({
      name: 'bad-calls',
      fn: async (input: { call: string }, ctx) => {
        if (input.call === 'duration') return ctx.sleepFor('soon');
        if (input.call === 'key') return ctx.waitForEvent('');
        if (input.call === 'cel') return ctx.waitForEvent('k', 'input.a ==');
        return ctx.memo(() => ({ big: 1n }) as unknown as number);
      },
    });
    await (await skein.worker('w', { workflows: [bad] })).start();
    const error = (call: string) =>
      bad.run({ call }).then(
        () => '',
        (e: RunFailedError) => Object.values(e.errors)[0],
      );
    expect(await error('duration')).toMatch(/sleepFor.*soon/);
    expect(await error('key')).toMatch(/non-empty event key/);
    expect(await error('cel')).toMatch(/bad CEL expression/);
    expect(await error('memo')).toMatch(/result of durable memo/);
  });
});
