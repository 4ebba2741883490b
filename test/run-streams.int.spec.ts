/** ctx.putStream and skein.runs.subscribeToStream against a real engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError, type Context } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** Resolves once the test has seen the task's stream, so no chunk after it is missed. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Pings until the gate opens (a subscriber is listening), then streams 0..n-1. */
async function pingThenCount(ctx: Context, opened: Promise<void>, n: number) {
  let isOpen = false;
  void opened.then(() => (isOpen = true));
  while (!isOpen) {
    ctx.putStream({ ping: true });
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < n; i++) ctx.putStream({ i });
}

/** Reads a stream to its end, opening `g` at its first chunk; the chunks after the pings. */
async function readCounted(stream: AsyncIterable<unknown>, g?: { open: () => void }) {
  const counted: unknown[] = [];
  for await (const chunk of stream) {
    if ((chunk as { ping?: boolean }).ping) g?.open();
    else counted.push(chunk);
  }
  return counted;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));

describe('streaming from a task', () => {
  it('subscribers here and in another client get the chunks in order and end with the run', async () => {
    const { skein, newClient } = await env.client();
    const g = gate();
    const counter = skein.task({
      name: 'counter',
      fn: async (_: unknown, ctx) => {
        await pingThenCount(ctx, g.opened, 200);
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [counter] })).start();
    const ref = await counter.runNoWait({});
    const other = newClient();
    const both = gate();
    let seen = 0;
    const countBoth = { open: () => ++seen === 2 && both.open() };
    const [here, there] = await Promise.all([
      readCounted(skein.runs.subscribeToStream(ref.runId), countBoth),
      readCounted(other.runs.subscribeToStream(ref.runId), countBoth),
      both.opened.then(g.open),
    ]);
    expect(here).toEqual(upTo(200));
    expect(there).toEqual(upTo(200));
    expect(await ref.result()).toBe('done');
  });

  it('works in a durable task, across a durable sleep', async () => {
    const { skein } = await env.client();
    const g = gate();
    const steps = skein.durableTask({
      name: 'steps',
      fn: async (_: unknown, ctx) => {
        await pingThenCount(ctx, g.opened, 1);
        await ctx.sleepFor('10ms');
        ctx.putStream({ i: 1 });
        return 'slept';
      },
    });
    await (await skein.worker('w', { workflows: [steps] })).start();
    const ref = await steps.runNoWait({});
    expect(await readCounted(skein.runs.subscribeToStream(ref.runId), g)).toEqual(upTo(2));
    expect(await ref.result()).toBe('slept');
  });

  it('a run that has ended ends the stream at once; an unknown run is NotFoundError', async () => {
    const { skein } = await env.client();
    const quick = skein.task({
      name: 'quick',
      fn: (_: unknown, ctx) => {
        ctx.putStream('gone before anyone listens');
        return 1;
      },
    });
    await (await skein.worker('w', { workflows: [quick] })).start();
    const ref = await quick.runNoWait({});
    await ref.result();
    const chunks: unknown[] = [];
    for await (const chunk of skein.runs.subscribeToStream(ref.runId)) chunks.push(chunk);
    expect(chunks).toEqual([]);
    const unknown = skein.runs.subscribeToStream('no-such-run')[Symbol.asyncIterator]();
    await expect(unknown.next()).rejects.toThrow(NotFoundError);
  });

  it('rejects a chunk JSON cannot hold or over 64 KiB with a ValidationError', async () => {
    const { skein } = await env.client();
    const problems = (f: () => void) => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return err instanceof ValidationError ? err.message : `not a ValidationError: ${err}`;
      }
    };
    const bad = skein.task({
      name: 'bad-chunks',
      fn: (_: unknown, ctx) => ({
        big: problems(() => ctx.putStream('x'.repeat(70_000))),
        fn: problems(() => ctx.putStream({ f: () => 1 })),
        fine: problems(() => ctx.putStream('x'.repeat(60_000))),
      }),
    });
    await (await skein.worker('w', { workflows: [bad] })).start();
    const out = await bad.run({});
    expect(out.big).toMatch(/stream chunk is \d+ bytes encoded; ctx.putStream takes at most 65536/);
    expect(out.fn).toMatch(/stream chunk\.f is a function/);
    expect(out.fine).toBe('accepted');
  });
});
