/**
 * Flow control against a real engine: rate limits, worker labels and sticky workers, each
 * proved by when and where task runs started, and by what runs.get says while they wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Priority, ValidationError } from 'skein';
import { gate } from './fixtures/gate.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** Polls runs.get until the run's only task says what it waits for. */
async function waitingFor(
  skein: { runs: { get(id: string): Promise<{ tasks: { waitingFor?: string }[] }> } },
  runId: string,
) {
  let said: string | undefined;
  await expect
    .poll(async () => (said = (await skein.runs.get(runId)).tasks[0]?.waitingFor), {
      timeout: 10_000,
    })
    .toBeTruthy();
  return said;
}

describe('rate limits', () => {
  it('a limit of 2 per second spreads 6 runs over at least 2 s; an unlimited task is not held back', async () => {
    const { skein } = await env.client();
    await skein.rateLimits.upsert({ key: 'api', limit: 2, duration: 'second' });
    const starts: number[] = [];
    const limited = skein.task({
      name: 'call-api',
      rateLimits: [{ staticKey: 'api', units: 1 }],
      fn: () => {
        starts.push(Date.now());
        return 'ok';
      },
    });
    const free = skein.task({ name: 'free', fn: () => Date.now() });
    await (await skein.worker('w', { workflows: [limited, free], slots: 10 })).start();

    const refs = [];
    for (let i = 0; i < 6; i++) refs.push(await limited.runNoWait({}));
    expect(await waitingFor(skein, refs[5].runId)).toBe("rate limit 'api' (2 per second)");
    const freeDoneAt = await free.run({});
    await Promise.all(refs.map((r) => r.result()));

    starts.sort((a, b) => a - b);
    expect(starts.at(-1)! - starts[0]).toBeGreaterThanOrEqual(1900);
    // a sliding window: the third start is a full second after the first, and so on
    for (let i = 2; i < starts.length; i++)
      expect(starts[i] - starts[i - 2]).toBeGreaterThanOrEqual(900);
    expect(freeDoneAt).toBeLessThan(starts.at(-1)!);
  });

  it('a HIGH run overtakes LOW runs waiting for the same rate limit', async () => {
    const { skein } = await env.client();
    await skein.rateLimits.upsert({ key: 'slow', limit: 1, duration: 'second' });
    const started: { label: string; at: number }[] = [];
    const job = skein.task({
      name: 'job',
      rateLimits: [{ staticKey: 'slow' }],
      fn: (label: string) => {
        started.push({ label, at: Date.now() });
        return label;
      },
    });
    await (await skein.worker('w', { workflows: [job], slots: 5 })).start();
    const refs = [];
    for (const label of ['low1', 'low2', 'low3']) refs.push(await job.runNoWait(label));
    await expect.poll(() => started.length).toBe(1);
    refs.push(await job.runNoWait('high', { priority: Priority.HIGH }));
    await Promise.all(refs.map((r) => r.result()));
    expect(started.map((s) => s.label)).toEqual(['low1', 'high', 'low2', 'low3']);
    expect(started[1].at - started[0].at).toBeGreaterThanOrEqual(900);
  });

  it('a dynamic key limits each user on its own (CEL over input)', async () => {
    const { skein } = await env.client();
    const starts: Record<string, number[]> = {};
    const perUser = skein.task({
      name: 'per-user',
      rateLimits: [{ dynamicKey: 'input.user', units: 1, limit: 1, duration: 'second' }],
      fn: (input: { user: string }) => {
        (starts[input.user] ??= []).push(Date.now());
        return input.user;
      },
    });
    await (await skein.worker('w', { workflows: [perUser], slots: 10 })).start();
    const a1 = await perUser.runNoWait({ user: 'alice' });
    const a2 = await perUser.runNoWait({ user: 'alice' });
    const b1 = await perUser.runNoWait({ user: 'bob' });
    await Promise.all([a1, a2, b1].map((r) => r.result()));
    expect(starts.alice[1] - starts.alice[0]).toBeGreaterThanOrEqual(900);
    expect(starts.bob[0] - starts.alice[0]).toBeLessThan(900);
  });

  it('a dynamic key that names no key for a run fails that run, saying why', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'keyed',
      rateLimits: [{ dynamicKey: 'input.user', units: 1, limit: 5, duration: 'minute' }],
      fn: () => 'ran',
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    await expect(task.run({ other: 1 })).rejects.toThrow(
      /task 'keyed': rate limit dynamicKey 'input.user' names no key for this run/,
    );
  });

  it('a static key nobody upserted holds the task, saying so, until it is upserted', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'needs-limit',
      rateLimits: [{ staticKey: 'later', units: 2 }],
      fn: () => 'ran',
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    expect(await waitingFor(skein, ref.runId)).toBe(
      "rate limit 'later' (not defined: call skein.rateLimits.upsert)",
    );
    await skein.rateLimits.upsert({ key: 'later', limit: 1, duration: 'minute' });
    await expect
      .poll(async () => (await skein.runs.get(ref.runId)).tasks[0].waitingFor)
      .toBe("rate limit 'later' (1 per minute), which can never grant 2 units");
    await skein.rateLimits.upsert({ key: 'later', limit: 2, duration: 'minute' });
    expect(await ref.result()).toBe('ran');
  });

  it('refuses bad declarations and upserts with ValidationError naming the task or key', async () => {
    const { skein } = await env.client();
    expect(() =>
      skein.task({
        name: 'greedy',
        rateLimits: [{ dynamicKey: 'input.user', units: 5, limit: 2, duration: 'second' }],
        fn: () => 1,
      }),
    ).toThrow(/task 'greedy': rateLimits\[0\]: units \(5\) exceed the limit \(2\)/);
    expect(() =>
      skein.task({ name: 'no-limit', rateLimits: [{ dynamicKey: 'input.user' }], fn: () => 1 }),
    ).toThrow(ValidationError);
    await expect(
      skein.rateLimits.upsert({ key: 'k', limit: 0, duration: 'second' }),
    ).rejects.toThrow(/rate limit 'k': limit must be a whole number >= 1/);
    await expect(
      skein.rateLimits.upsert({ key: 'k', limit: 1, duration: 'week' as never }),
    ).rejects.toThrow(ValidationError);
  });
});

describe('worker labels', () => {
  it('required labels are never violated (the task waits, saying why); weights choose the better worker', async () => {
    const { skein } = await env.client();
    const ran: string[] = [];
    const train = skein.task({
      name: 'train',
      desiredWorkerLabels: { gpu: { value: 'a100', required: true } },
      fn: (_: unknown, ctx) => {
        ran.push(ctx.workerId);
        return ctx.workerId;
      },
    });
    const report = skein.task({
      name: 'report',
      desiredWorkerLabels: {
        region: { value: 'eu', weight: 10 },
        memory: { value: 32, comparator: 'GREATER_THAN_OR_EQUAL', weight: 50 },
      },
      fn: (_: unknown, ctx) => ctx.workerId,
    });
    const cpu = await skein.worker('cpu', {
      workflows: [train, report],
      slots: 20,
      labels: { gpu: 'none', region: 'eu', memory: 16 },
    });
    await cpu.start();
    const first = await train.runNoWait({});
    expect(await waitingFor(skein, first.runId)).toBe('a worker with labels gpu=a100 (required)');

    const big = await skein.worker('big', {
      workflows: [train, report],
      slots: 1,
      labels: { gpu: 'a100', region: 'us', memory: 64 },
    });
    await big.start();
    const more = await Promise.all([1, 2, 3].map(() => train.runNoWait({})));
    await Promise.all([first, ...more].map((r) => r.result()));
    expect(ran).toEqual([big.id, big.id, big.id, big.id]);
    // memory>=32 weighs 50, region=eu 10: the one-slot us worker beats the 20-slot eu one
    expect(await report.run({})).toBe(big.id);
    // a run's own labels go over the task's
    expect(
      await report.run({}, { desiredWorkerLabels: { memory: { value: 16, weight: 100 } } }),
    ).toBe(cpu.id);
  });
});

describe('run options kept by schedules', () => {
  it('a scheduled run keeps its own desiredWorkerLabels', async () => {
    const { skein } = await env.client();
    const where = skein.task({ name: 'where', fn: (_: unknown, ctx) => ctx.workerId });
    const plain = await skein.worker('plain', { workflows: [where], slots: 20 });
    const special = await skein.worker('special', {
      workflows: [where],
      slots: 1,
      labels: { zone: 'b' },
    });
    await plain.start();
    await special.start();
    const scheduled = await where.schedule(
      new Date(Date.now() + 200),
      {},
      {
        desiredWorkerLabels: { zone: { value: 'b', required: true } },
      },
    );
    const runId = `schedule-${scheduled.id}`;
    await expect
      .poll(async () => (await skein.runs.get(runId).catch(() => undefined))?.status, {
        timeout: 10_000,
      })
      .toBe('COMPLETED');
    expect((await skein.runs.get(runId)).output).toBe(special.id);
  });
});

describe('sticky', () => {
  /**
   * A workflow `a -> b`, sticky. While `a` runs it queues a blocker that must run on a's worker,
   * so when `b` is queued a's worker is busy and the other worker is free.
   */
  async function setup(sticky: 'hard' | 'soft', runSticky?: 'hard' | 'soft') {
    const { skein } = await env.client();
    const release = gate();
    const blocker = skein.task({ name: 'blocker', fn: () => release.promise });
    const wf = skein.workflow({ name: 'pipeline', sticky });
    const where: Record<string, string> = {};
    const a = wf.task({
      name: 'a',
      fn: async (_: unknown, ctx) => {
        where.a = ctx.workerId;
        const label = ctx.workerId === one.id ? 'one' : 'two';
        await blocker.runNoWait(null, {
          desiredWorkerLabels: { n: { value: label, required: true } },
        });
        return null;
      },
    });
    wf.task({
      name: 'b',
      parents: [a],
      fn: (_: unknown, ctx) => {
        where.b = ctx.workerId;
        return null;
      },
    });
    const one = await skein.worker('one', {
      workflows: [wf, blocker],
      slots: 1,
      labels: { n: 'one' },
    });
    const two = await skein.worker('two', {
      workflows: [wf, blocker],
      slots: 1,
      labels: { n: 'two' },
    });
    await one.start();
    await two.start();
    const ref = await wf.runNoWait({}, runSticky ? { sticky: runSticky } : undefined);
    return { skein, ref, where, release };
  }

  it('hard: b waits for the worker that ran a, though another is free, then runs there', async () => {
    const { skein, ref, where, release } = await setup('hard');
    let b: { status: string; waitingFor?: string } | undefined;
    await expect
      .poll(
        async () =>
          (b = (await skein.runs.get(ref.runId)).tasks.find((t) => t.name === 'b'))?.waitingFor,
        {
          timeout: 10_000,
        },
      )
      .toMatch(/sticky: hard/);
    expect(b?.waitingFor).toBe(`worker ${where.a} (sticky: hard)`);
    expect(b?.status).toBe('QUEUED');
    release.open();
    await ref.result();
    expect(where.b).toBe(where.a);
  });

  it('hard: a workflow’s parallel root tasks all go to one worker', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'fan', sticky: 'hard' });
    for (const name of ['r1', 'r2', 'r3', 'r4'])
      wf.task({ name, fn: (_: unknown, ctx) => ctx.workerId });
    const one = await skein.worker('one', { workflows: [wf], slots: 4 });
    const two = await skein.worker('two', { workflows: [wf], slots: 4 });
    await one.start();
    await two.start();
    for (let i = 0; i < 3; i++) {
      const out = (await wf.run({})) as Record<string, string>;
      expect(new Set(Object.values(out)).size).toBe(1);
    }
  });

  it('soft (per run, over the declaration): b goes to the free worker when a’s is busy', async () => {
    const { ref, where, release } = await setup('hard', 'soft');
    await ref.result();
    release.open();
    expect(where.a).toBeDefined();
    expect(where.b).not.toBe(where.a);
  });
});
