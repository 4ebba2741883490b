/**
 * Durable tasks replayed after an eviction: a call about something else than the recorded one
 * fails the run with NonDeterminismError, and every way of starting children is a recorded
 * call, so a replay never starts them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunFailedError, type Skein } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const suspended = (skein: Skein, runId: string) =>
  waitForHistory(skein, runId, 'TaskSuspended', { timeout: 10_000 });

describe('a replayed call of the same kind but another key', () => {
  it('fails the run with NonDeterminismError when the event key changed under a waiting task', async () => {
    const { skein } = await env.client();
    let eventKey = 'approve:a';
    const task = skein.durableTask({
      name: 'approval',
      fn: async (_input, ctx) => ctx.waitForEvent(eventKey),
    });
    const first = await skein.worker('old-code', { workflows: [task] });
    await first.start();
    const ref = await task.runNoWait({});
    await suspended(skein, ref.runId);
    // The waiting task leaves memory; the next worker runs the changed code.
    await first.stop();
    eventKey = 'approve:b';
    await (await skein.worker('new-code', { workflows: [task] })).start();
    await skein.events.push('approve:a', { ok: true });
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    const message = (err as RunFailedError).errors.approval;
    expect(message).toMatch(/NonDeterminism|took another path/);
    expect(message).toMatch(/waitForEvent\(approve:a\).*waitForEvent\(approve:b\)/);
  });

  it('fails the run when a memo now runs another function', async () => {
    const { skein } = await env.client();
    let step = function charge() {
      return 'charged';
    };
    const task = skein.durableTask({
      name: 'billing',
      retries: 2,
      fn: async (_input, ctx) => {
        const done = await ctx.memo(step);
        await ctx.waitForEvent('billing:go');
        return done;
      },
    });
    const first = await skein.worker('old-code', { workflows: [task] });
    await first.start();
    const ref = await task.runNoWait({});
    await suspended(skein, ref.runId);
    await first.stop();
    step = function refund() {
      return 'refunded';
    };
    await (await skein.worker('new-code', { workflows: [task] })).start();
    await skein.events.push('billing:go', {});
    const err = await ref.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailedError);
    expect((err as RunFailedError).errors.billing).toMatch(/memo\(charge:\w+\).*memo\(refund:/);
    // Not retried: another attempt would take the same other path.
    expect((await skein.runs.get(ref.runId)).tasks[0].attempts).toBe(1);
  });
});

describe('children started by a durable task are recorded calls', () => {
  it('runMany, then a sleep past an eviction: the children started once', async () => {
    const { skein } = await env.client();
    const started: number[] = [];
    const kid = skein.task<{ n: number }, number>({
      name: 'kid',
      fn: (input) => {
        started.push(input.n);
        return input.n * 10;
      },
    });
    let entries = 0;
    const parent = skein.durableTask({
      name: 'fan-out',
      evictionPolicy: { ttl: '200ms' },
      fn: async (_input, ctx) => {
        entries++;
        const outs = await kid.runMany([1, 2, 3].map((n) => kid.createBulkRunItem({ n })));
        await ctx.sleepFor('1s');
        return outs;
      },
    });
    await (await skein.worker('w', { workflows: [kid, parent] })).start();
    const ref = await parent.runNoWait({});
    expect(await ref.result()).toEqual([10, 20, 30]);
    expect(entries).toBeGreaterThanOrEqual(2); // replayed after the eviction
    expect(started.sort()).toEqual([1, 2, 3]);
    await expect.poll(async () => (await skein.runs.list({ name: 'kid' })).length).toBe(3);
    const history = await skein.runs.history(ref.runId);
    const kinds = history
      .filter((e) => e.type === 'DurableCallRecorded')
      .map((e) => `${String(e.data.kind)}(${String(e.data.callKey)})`);
    expect(kinds).toEqual([
      ...Array(3).fill('spawn(kid)'),
      ...Array(3).fill('child(kid)'),
      'sleep(sleepFor)',
    ]);
  });

  it('runMany with returnExceptions returns a failed child in its place', async () => {
    const { skein } = await env.client();
    const kid = skein.task<{ n: number }, number>({
      name: 'picky-kid',
      fn: (input) => {
        if (input.n === 2) throw new Error('two is bad');
        return input.n;
      },
    });
    const parent = skein.durableTask({
      name: 'tolerant-parent',
      fn: async () => {
        const outs = await kid.runMany(
          [1, 2, 3].map((n) => kid.createBulkRunItem({ n })),
          { returnExceptions: true },
        );
        return outs.map((o) =>
          o instanceof RunFailedError ? `failed: ${o.errors['picky-kid']}` : o,
        );
      },
    });
    await (await skein.worker('w', { workflows: [kid, parent] })).start();
    expect(await parent.run({})).toEqual([1, expect.stringMatching(/^failed: .*two is bad/), 3]);
  });

  it('runManyNoWait and triggers by name, then a sleep past an eviction: each child started once', async () => {
    const { skein } = await env.client();
    const started: string[] = [];
    const kid = skein.task<{ id: string }, string>({
      name: 'named-kid',
      fn: (input) => {
        started.push(input.id);
        return input.id;
      },
    });
    let entries = 0;
    const parent = skein.durableTask({
      name: 'spawner',
      evictionPolicy: { ttl: '200ms' },
      fn: async (_input, ctx) => {
        entries++;
        const refs = await kid.runManyNoWait([
          kid.createBulkRunItem({ id: 'a' }),
          kid.createBulkRunItem({ id: 'b' }),
        ]);
        const byName = await skein.runNoWait('named-kid', { id: 'c' });
        const waited = await skein.run('named-kid', { id: 'd' });
        await ctx.sleepFor('1s');
        return { runIds: [...refs, byName].map((r) => r.runId), waited };
      },
    });
    await (await skein.worker('w', { workflows: [kid, parent] })).start();
    // The worker registers the kid, so the trigger by name finds it.
    const out = await parent.run({});
    expect(entries).toBeGreaterThanOrEqual(2);
    expect(out.waited).toBe('d');
    await expect
      .poll(async () => (await skein.runs.list({ name: 'named-kid', status: 'COMPLETED' })).length)
      .toBe(4);
    expect(started.sort()).toEqual(['a', 'b', 'c', 'd']);
    const runs = await skein.runs.list({ name: 'named-kid' });
    expect(runs.map((r) => r.id).sort()).toEqual(expect.arrayContaining([...out.runIds].sort()));
    expect(runs).toHaveLength(4);
  });

  it('schedule() inside a durable task, then a sleep past an eviction: scheduled once', async () => {
    const { skein } = await env.client();
    const reminder = skein.task({ name: 'reminder', fn: () => 'remind' });
    let entries = 0;
    const parent = skein.durableTask({
      name: 'plans-ahead',
      evictionPolicy: { ttl: '200ms' },
      fn: async (_input, ctx) => {
        entries++;
        // A date computed from the clock: the replay returns the recorded one.
        const s = await reminder.schedule(new Date(Date.now() + 3_600_000), {});
        await ctx.sleepFor('1s');
        return { id: s.id, at: s.triggerAt.getTime() };
      },
    });
    await (await skein.worker('w', { workflows: [reminder, parent] })).start();
    const out = await parent.run({});
    expect(entries).toBeGreaterThanOrEqual(2);
    const schedules = await skein.schedules.list();
    expect(schedules.map((s) => ({ id: s.id, at: s.triggerAt.getTime() }))).toEqual([out]);
  });
});
