/** Concurrency limits, proven with the recorded start and end times of real runs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyLimitStrategy, RunCancelledError, ValidationError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

interface Span {
  key: string;
  start: number;
  end: number;
}

/** The most spans of one key running at the same moment. */
function maxOverlap(spans: Span[], key: string) {
  const points = spans
    .filter((s) => s.key === key)
    .flatMap((s) => [
      { at: s.start, d: 1 },
      { at: s.end, d: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (now += p.d));
  return max;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('concurrency', () => {
  it('GROUP_ROUND_ROBIN: at most maxRuns per key at once, and a small key is not starved', async () => {
    const { skein } = await env.client();
    const spans: Span[] = [];
    const task = skein.task({
      name: 'per-user',
      concurrency: { expression: 'input.user', maxRuns: 2 },
      fn: async (input: { user: string }) => {
        const start = Date.now();
        await pause(200);
        spans.push({ key: input.user, start, end: Date.now() });
      },
    });
    await (await skein.worker('w', { workflows: [task], slots: 20 })).start();
    const busy = Array.from({ length: 8 }, () => task.createBulkRunItem({ user: 'ann' }));
    const refs = await task.runManyNoWait(busy);
    refs.push(...(await task.runManyNoWait([task.createBulkRunItem({ user: 'bob' })])));
    await Promise.all(refs.map((r) => r.result()));
    expect(maxOverlap(spans, 'ann')).toBe(2);
    const bob = spans.find((s) => s.key === 'bob')!;
    const annLast = Math.max(...spans.filter((s) => s.key === 'ann').map((s) => s.start));
    // bob's one run did not wait behind ann's eight.
    expect(bob.start).toBeLessThan(annLast);
  });

  it('concurrency: n limits every run of the task to n at once', async () => {
    const { skein } = await env.client();
    const spans: Span[] = [];
    const task = skein.task({
      name: 'one-at-a-time',
      concurrency: 1,
      fn: async () => {
        const start = Date.now();
        await pause(100);
        spans.push({ key: 'k', start, end: Date.now() });
      },
    });
    await (await skein.worker('w', { workflows: [task], slots: 10 })).start();
    await task.runMany(Array.from({ length: 5 }, () => task.createBulkRunItem({})));
    expect(spans).toHaveLength(5);
    expect(maxOverlap(spans, 'k')).toBe(1);
  });

  it('enforces every limit of a list at once', async () => {
    const { skein } = await env.client();
    const spans: Span[] = [];
    const task = skein.task({
      name: 'tenant-and-user',
      concurrency: [
        { expression: 'input.tenant', maxRuns: 2 },
        { expression: 'input.user', maxRuns: 1 },
      ],
      fn: async (input: { tenant: string; user: string }) => {
        const start = Date.now();
        await pause(150);
        const end = Date.now();
        spans.push({ key: `tenant:${input.tenant}`, start, end });
        spans.push({ key: `user:${input.user}`, start, end });
      },
    });
    await (await skein.worker('w', { workflows: [task], slots: 20 })).start();
    const items = ['u1', 'u1', 'u2', 'u2', 'u3', 'u3'].map((user) =>
      task.createBulkRunItem({ tenant: 't', user }),
    );
    await task.runMany(items);
    expect(maxOverlap(spans, 'tenant:t')).toBe(2);
    for (const u of ['u1', 'u2', 'u3']) expect(maxOverlap(spans, `user:${u}`)).toBe(1);
  });

  it('CANCEL_IN_PROGRESS: the newest run wins, the running one is cancelled', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'latest-wins',
      concurrency: {
        expression: 'input.doc',
        maxRuns: 1,
        limitStrategy: ConcurrencyLimitStrategy.CANCEL_IN_PROGRESS,
      },
      fn: async (input: { doc: string; n: number }, ctx) => {
        await new Promise((resolve) => {
          ctx.signal.addEventListener('abort', resolve);
          if (input.n === 2) setTimeout(resolve, 100);
        });
        return input.n;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const first = await task.runNoWait({ doc: 'd', n: 1 });
    await expect.poll(async () => (await skein.runs.get(first.runId)).status).toBe('RUNNING');
    const second = await task.runNoWait({ doc: 'd', n: 2 });
    const err = await first.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunCancelledError);
    expect((err as RunCancelledError).reason).toMatch(/CANCEL_IN_PROGRESS/);
    expect(await second.result()).toBe(2);
    expect((await skein.runs.get(first.runId)).tasks[0].status).toBe('CANCELLED');
  });

  it('CANCEL_NEWEST: the running run finishes, the newcomer is cancelled', async () => {
    const { skein } = await env.client();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const task = skein.task({
      name: 'first-wins',
      concurrency: {
        expression: "'all'",
        maxRuns: 1,
        limitStrategy: ConcurrencyLimitStrategy.CANCEL_NEWEST,
      },
      fn: async (input: { n: number }) => {
        if (input.n === 1) await gate;
        return input.n;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const first = await task.runNoWait({ n: 1 });
    await expect.poll(async () => (await skein.runs.get(first.runId)).status).toBe('RUNNING');
    const second = await task.runNoWait({ n: 2 });
    await expect(second.result()).rejects.toThrow(/CANCEL_NEWEST/);
    release();
    expect(await first.result()).toBe(1);
  });

  it('limits a workflow, and a workflow task on its own', async () => {
    const { skein } = await env.client();
    const spans: Span[] = [];
    const wf = skein.workflow<{ region: string }>({
      name: 'reports',
      concurrency: { expression: 'input.region', maxRuns: 2 },
      taskDefaults: { concurrency: 1 },
    });
    const record = (key: string) => async () => {
      const start = Date.now();
      await pause(100);
      spans.push({ key, start, end: Date.now() });
    };
    const gather = wf.task({ name: 'gather', fn: record('gather') });
    wf.task({ name: 'render', parents: [gather], fn: record('render') });
    await (await skein.worker('w', { workflows: [wf], slots: 20 })).start();
    await wf.runMany(Array.from({ length: 4 }, () => wf.createBulkRunItem({ region: 'eu' })));
    expect(spans).toHaveLength(8);
    // taskDefaults' concurrency 1: one 'gather' and one 'render' at a time, though two runs go at once.
    expect(maxOverlap(spans, 'gather')).toBe(1);
    expect(maxOverlap(spans, 'render')).toBe(1);
  });

  it('runs.get says what a run waits for', async () => {
    const { skein } = await env.client();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const task = skein.task({
      name: 'single-file',
      concurrency: { expression: 'input.queue', maxRuns: 1 },
      fn: () => gate,
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const first = await task.runNoWait({ queue: 'q1' });
    await expect.poll(async () => (await skein.runs.get(first.runId)).status).toBe('RUNNING');
    const second = await task.runNoWait({ queue: 'q1' });
    await expect
      .poll(async () => (await skein.runs.get(second.runId)).tasks[0].waitingFor)
      .toMatch(/concurrency slot for key 'q1' \(at most 1 at once\)/);
    release();
    await second.result();
  });

  it('refuses a bad expression at declaration, and an input it cannot key at trigger', async () => {
    const { skein } = await env.client();
    expect(() =>
      skein.task({ name: 'bad', concurrency: { expression: 'input.(', maxRuns: 1 }, fn: () => 1 }),
    ).toThrow(ValidationError);
    expect(() =>
      skein.task({ name: 'bad2', concurrency: { expression: 'input.a', maxRuns: 0 }, fn: () => 1 }),
    ).toThrow(/maxRuns must be a whole number >= 1/);
    const task = skein.task({
      name: 'keyed',
      concurrency: { expression: 'input.user', maxRuns: 1 },
      fn: () => 1,
    });
    await expect(task.runNoWait({ other: 1 } as never)).rejects.toThrow(
      /concurrency expression "input.user" of 'keyed' failed on this input/,
    );
  });
});
