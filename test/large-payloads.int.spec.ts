/**
 * Payloads of any reasonable size: values over 256 KB encoded travel through the namespace's
 * object store, against a real engine and nats-server. Journal entries stay small, a run's
 * objects go with it, and a value over `maxPayloadBytes` is refused.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { RunFailedError, Skein, ValidationError, type RunInfo } from 'skein';
import { startEngine } from 'skein/runtime';
import { deleteRunPayloads } from '../runtime/payloads.js';
import { names, objectStream } from '../runtime/subjects.js';
import { startSkeinEnv, testLogger, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';
import { SOON } from './support/patience.js';

const MB = 1024 * 1024;
/** A string of `bytes` characters that does not repeat one character (so nothing shrinks it). */
const blob = (bytes: number, seed = 'x') =>
  `${seed}0123456789abcdef`.repeat(bytes / 17 + 1).slice(0, bytes);

let env: SkeinEnv;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  env = await startSkeinEnv();
  nc = await connect({ servers: env.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await env.stop();
});

const streamState = async (stream: string) => (await jsm.streams.info(stream)).state;
const objectsOf = (namespace: string) =>
  streamState(objectStream(names(namespace).buckets.payloads));

/** The journal holds references, never the values: its entries stay small. */
async function expectSmallJournal(namespace: string) {
  expect((await streamState(names(namespace).streams.journal)).bytes).toBeLessThan(MB);
}

async function finishedRun(skein: Skein, name: string): Promise<RunInfo> {
  let run: RunInfo | undefined;
  await vi.waitFor(async () => {
    const [listed] = await skein.runs.list({ name });
    expect(listed?.status).toBe('COMPLETED');
    run = listed;
  }, SOON);
  return run!;
}

describe('large payloads', () => {
  it('a 10 MB input and a 10 MB output round trip through a task, and runs.get reads both', async () => {
    const { skein, namespace } = await env.client();
    const echo = skein.task({
      name: 'echo',
      fn: (input: { data: string }) => ({ data: `${input.data}!`, got: input.data.length }),
    });
    await (await skein.worker('w', { workflows: [echo] })).start();
    const input = { data: blob(10 * MB) };
    const ref = await echo.runNoWait(input);
    const output = await ref.result();
    expect(output.got).toBe(10 * MB);
    expect(output.data).toBe(`${input.data}!`);
    const run = await skein.runs.get(ref.runId);
    expect(run.input).toEqual(input);
    expect(run.output).toEqual(output);
    expect(run.tasks[0].output).toEqual(output);
    await expectSmallJournal(namespace);
  });

  it('a 10 MB input and a 10 MB output round trip through a workflow, a parent output reaching its child', async () => {
    const { skein, namespace } = await env.client();
    const wf = skein.workflow<{ data: string }>({ name: 'big-flow' });
    const first = wf.task({ name: 'first', fn: (input) => input.data.toUpperCase() });
    wf.task({
      name: 'second',
      parents: [first],
      fn: (input, ctx) => ({ same: ctx.parentOutput(first) === input.data.toUpperCase() }),
    });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const data = blob(10 * MB);
    const output = (await wf.run({ data })) as { first: string; second: { same: boolean } };
    expect(output.second).toEqual({ same: true });
    // Compared as booleans: a failure would print megabytes.
    expect(output.first === data.toUpperCase()).toBe(true);
    const [run] = await skein.runs.list({ name: 'big-flow' });
    expect(run.tasks.find((t) => t.name === 'first')?.output === output.first).toBe(true);
    expect((run.input as { data: string }).data === data).toBe(true);
    await expectSmallJournal(namespace);
  });

  it('a workflow whose inline-sized input and outputs add up past max_payload completes', async () => {
    const { skein, namespace } = await env.client();
    const wf = skein.workflow<string>({ name: 'wide' });
    // Four root tasks: the creating turn queues four at once; four outputs end up together.
    for (const name of ['a', 'b', 'c', 'd'])
      wf.task({ name, fn: (input) => `${name}${input.slice(1)}` });
    await (await skein.worker('w', { workflows: [wf] })).start();
    const input = blob(250 * 1024);
    const output = (await wf.run(input)) as Record<string, string>;
    expect(Object.keys(output).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(output.d === `d${input.slice(1)}`).toBe(true);
    await expectSmallJournal(namespace);
  });

  it('a 5 MB event payload triggers a run, which gets it as its input', async () => {
    const { skein, namespace } = await env.client();
    const onBig = skein.task({
      name: 'on-big',
      onEvents: ['big:event'],
      fn: (input: { data: string }) => input.data.length,
    });
    await (await skein.worker('w', { workflows: [onBig] })).start();
    const payload = { data: blob(5 * MB, 'e') };
    await skein.events.push('big:event', payload);
    const run = await finishedRun(skein, 'on-big');
    expect(run.output).toBe(5 * MB);
    expect(run.input).toEqual(payload);
    expect((await streamState(names(namespace).streams.events)).bytes).toBeLessThan(MB);
  });

  it('a 5 MB event payload ends a durable wait', async () => {
    const { skein } = await env.client();
    const waiter = skein.durableTask({
      name: 'big-waiter',
      fn: async (_input, ctx) => {
        const got = (await ctx.waitForEvent('big:reply')) as { data: string };
        return got.data.length;
      },
    });
    await (await skein.worker('w', { workflows: [waiter] })).start();
    const ref = await waiter.runNoWait({});
    await waitForHistory(skein, ref.runId, 'TaskSuspended', { timeout: 10_000 });
    await skein.events.push('big:reply', { data: blob(5 * MB, 'r') });
    expect(await ref.result()).toBe(5 * MB);
  });

  it('a 5 MB memo result is read back by replay when the task resumes', async () => {
    const { skein, namespace } = await env.client();
    let computed = 0;
    let entries = 0;
    const task = skein.durableTask({
      name: 'big-memo',
      // Dropped from memory while it sleeps: it resumes by replaying its recorded calls.
      evictionPolicy: { ttl: '200ms' },
      fn: async (_input, ctx) => {
        entries++;
        const value = await ctx.memo(function fetchBig() {
          computed++;
          return blob(5 * MB, 'm');
        });
        await ctx.sleepFor('1s');
        return { length: value.length, same: value === blob(5 * MB, 'm') };
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    expect(await task.run({})).toEqual({ length: 5 * MB, same: true });
    expect(entries).toBe(2);
    expect(computed).toBe(1);
    await expectSmallJournal(namespace);
  });

  it('a log line over 256 KB is stored and read back by runs.logs, in its place among the others', async () => {
    const { skein } = await env.client();
    const line = blob(300 * 1024, 'l');
    const chatty = skein.task({
      name: 'chatty',
      fn: (_input, ctx) => {
        ctx.log('before');
        ctx.log(line);
        ctx.log('after');
        return 'ok';
      },
    });
    await (await skein.worker('w', { workflows: [chatty] })).start();
    const ref = await chatty.runNoWait({});
    expect(await ref.result()).toBe('ok');
    await vi.waitFor(async () => {
      const messages = (await skein.runs.logs(ref.runId)).map((l) => l.message);
      // The line is named, not printed, should this fail.
      expect(messages.map((m) => (m === line ? 'the line' : m))).toEqual([
        'before',
        'the line',
        'after',
      ]);
    }, SOON);
  });

  it('values under 256 KB stay inline: no object is stored', async () => {
    const { skein, namespace } = await env.client();
    const echo = skein.task({ name: 'small-echo', fn: (input: string) => input });
    await (await skein.worker('w', { workflows: [echo] })).start();
    const input = blob(200 * 1024);
    expect(await echo.run(input)).toBe(input);
    await skein.events.push('nobody:listens', { data: blob(200 * 1024) });
    expect((await objectsOf(namespace)).messages).toBe(0);
    expect((await streamState(objectStream(names(namespace).buckets.eventPayloads))).messages).toBe(
      0,
    );
  });

  it('deleteRunPayloads deletes a run’s objects and leaves no markers behind', async () => {
    const { skein, namespace } = await env.client();
    const echo = skein.task({ name: 'to-delete', fn: (input: string) => input.length });
    await (await skein.worker('w', { workflows: [echo] })).start();
    const kept = await echo.runNoWait(blob(2 * MB));
    const gone = await echo.runNoWait(blob(2 * MB, 'g'));
    await Promise.all([kept.result(), gone.result()]);
    const before = await objectsOf(namespace);
    expect(before.messages).toBeGreaterThan(0);
    expect(await deleteRunPayloads(jsm, names(namespace), gone.runId)).toBe(1);
    const after = await objectsOf(namespace);
    // Half the chunks and metadata went; what is left is the other run's, which still reads.
    expect(after.messages).toBe(before.messages / 2);
    expect(after.bytes).toBeLessThan(before.bytes / 2 + 4096);
    expect((await skein.runs.get(kept.runId)).input).toBe(blob(2 * MB));
    expect((await streamState(names(namespace).streams.payloadIndex)).messages).toBe(1);
    expect(await deleteRunPayloads(jsm, names(namespace), kept.runId)).toBe(1);
    expect((await objectsOf(namespace)).messages).toBe(0);
    expect((await streamState(names(namespace).streams.payloadIndex)).messages).toBe(0);
  });

  it('a payload over maxPayloadBytes is refused with a ValidationError naming the limit', async () => {
    const { skein: first, namespace } = await env.client();
    const skein = Skein.init({
      natsUrl: env.url,
      namespace,
      logger: testLogger,
      maxPayloadBytes: 1 * MB,
    });
    try {
      const size = skein.task({ name: 'size', fn: (input: string) => input.length });
      const big = skein.task({ name: 'big-out', fn: () => blob(2 * MB) });
      await (await skein.worker('w', { workflows: [size, big] })).start();
      const err = await size.run(blob(2 * MB)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/over the limit of 1048576 bytes \(maxPayloadBytes\)/);
      await expect(skein.events.push('k', blob(2 * MB))).rejects.toThrow(/maxPayloadBytes/);
      expect(await first.runs.list()).toEqual([]);
      // An output over the limit fails its run for good, saying why.
      const failed = await big.run({}).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(RunFailedError);
      expect((failed as RunFailedError).errors['big-out']).toMatch(/maxPayloadBytes/);
      expect(await size.run(blob(512 * 1024))).toBe(512 * 1024);
    } finally {
      await skein.close();
    }
    expect(() => Skein.init({ maxPayloadBytes: -1 })).toThrow(ValidationError);
    await expect(startEngine({ natsUrl: env.url, maxPayloadBytes: 0 })).rejects.toThrow(
      /maxPayloadBytes/,
    );
  });
});
