/**
 * Retention end to end: the engine's own run index tells its sweeper which finished runs are
 * past their retention, and each is deleted whole (journal, logs, stored payloads, index entry),
 * while a parent keeps its children and a running run is never touched.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NotFoundError } from 'skein';
import { names } from '../runtime/protocol.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

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

async function stored(stream: string, subject: string): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

const gone = (p: Promise<unknown>) =>
  p.then(
    () => false,
    (err: unknown) => err instanceof NotFoundError,
  );

describe('retention with the run index', () => {
  it('deletes a finished run whole once its retention is up, and the index forgets it', async () => {
    const { skein, namespace } = await env.client({ engine: { sweepEveryMs: 200 } });
    const n = names(namespace);
    const big = 'x'.repeat(400_000); // over the inline limit: stored as an object of the run
    const task = skein.task({
      name: 'short-lived',
      retention: '2s',
      fn: (input: { big: string }, ctx) => {
        ctx.log('working');
        return { size: input.big.length };
      },
    });
    const kept = skein.task({ name: 'long-lived', fn: () => 'kept' }); // the default, 7 days
    await (await skein.worker('w', { workflows: [task, kept] })).start();

    const ref = await task.runNoWait({ big });
    expect(await ref.result()).toEqual({ size: 400_000 });
    const keptRef = await kept.runNoWait({});
    await keptRef.result();
    const listed = await skein.runs.page({ name: 'short-lived' });
    expect(listed.runs.map((r) => r.id)).toEqual([ref.runId]);
    expect(await stored(n.streams.payloadIndex, n.payloadIndexSubject(ref.runId))).toBe(1);
    const finishedAt = (await skein.runs.get(ref.runId)).finishedAt!.getTime();

    await vi.waitFor(async () => expect(await gone(skein.runs.get(ref.runId))).toBe(true), {
      timeout: 60_000,
      interval: 200,
    });
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - finishedAt).toBeLessThan(2_000 + 60_000);
    expect(await stored(n.streams.journal, n.journalSubject('run', ref.runId))).toBe(0);
    expect(await stored(n.streams.logs, n.logSubject(ref.runId))).toBe(0);
    expect(await stored(n.streams.payloadIndex, n.payloadIndexSubject(ref.runId))).toBe(0);
    expect((await skein.runs.page({ name: 'short-lived' })).runs).toEqual([]);
    expect((await skein.runs.counts({ name: 'short-lived' })).COMPLETED).toBe(0);
    // The run under the default retention is untouched.
    expect((await skein.runs.get(keptRef.runId)).status).toBe('COMPLETED');
    expect((await skein.runs.counts({ name: 'long-lived' })).COMPLETED).toBe(1);
  });

  it('keeps a child run while its parent exists, and never touches a running run', async () => {
    const { skein } = await env.client({ engine: { sweepEveryMs: 200 } });
    const child = skein.task({ name: 'child', retention: '1s', fn: () => 'from child' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const parent = skein.task({
      name: 'parent',
      retention: '1s',
      executionTimeout: '5m',
      fn: async () => {
        const out = await child.run({});
        await released;
        return out;
      },
    });
    await (await skein.worker('w', { workflows: [parent, child] })).start();
    const ref = await parent.runNoWait({});
    let childId: string | undefined;
    await vi.waitFor(
      async () => {
        const page = await skein.runs.page({ parentRunId: ref.runId, status: 'COMPLETED' });
        childId = page.runs[0]?.id;
        expect(childId).toBeDefined();
      },
      { timeout: 30_000 },
    );
    const childFinished = (await skein.runs.get(childId!)).finishedAt!.getTime();
    // Several sweeps pass after the child's retention while its parent is still running.
    await vi.waitFor(() => expect(Date.now() - childFinished).toBeGreaterThan(3_000), {
      timeout: 10_000,
    });
    expect((await skein.runs.get(childId!)).status).toBe('COMPLETED');
    expect((await skein.runs.get(ref.runId)).status).toBe('RUNNING');

    release();
    expect(await ref.result()).toBe('from child');
    await vi.waitFor(
      async () => {
        expect(await gone(skein.runs.get(ref.runId))).toBe(true);
        expect(await gone(skein.runs.get(childId!))).toBe(true);
      },
      { timeout: 60_000, interval: 200 },
    );
  });
});
