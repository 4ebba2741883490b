/**
 * Long durable histories stay cheap: 10,000 recorded calls complete, a snapshot of the run does
 * not grow with them, a worker that comes back to a task reads only the calls it lacks, a worker
 * without them reads them in pages, and `runs.history` pages a history of any length.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, type Skein } from 'skein';
import { decode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { readSubject } from '../runtime/stream-reads.js';
import { snapshotKey } from '../runtime/subjects.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { waitForHistory } from './support/history.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const CALLS = 10_000;
/** 120 characters: 10,000 of them make a history well over a NATS message (1 MB). */
const receipt = (i: number) => `receipt-${i}-`.padEnd(120, 'x');

/** The run's snapshot, and how many journal entries a load reads after it. */
async function snapshotOf(namespace: string, runId: string) {
  const n = names(namespace);
  const nc = await connect({ servers: env.url });
  try {
    const kv = await new Kvm(nc).open(n.buckets.snapshots);
    const stored = await kv.get(snapshotKey('run', runId));
    if (!stored || stored.operation !== 'PUT') return undefined;
    const { seq } = decode<{ seq: number }>(stored.value);
    const jsm = await jetstreamManager(nc);
    const after = await readSubject(
      jsm,
      n.streams.journal,
      n.journalSubject('run', runId),
      seq + 1,
    );
    return { bytes: stored.value.length, entriesAfter: after.length };
  } finally {
    await nc.close();
  }
}

describe('long durable histories', () => {
  it('completes 10,000 memo calls; a snapshot stays small; after a wait the worker reads 1 call, not 10,000', async () => {
    const { skein, namespace } = await env.client();
    let executions = 0;
    const task = skein.durableTask({
      name: 'ten-thousand',
      evictionPolicy: { ttl: '100ms' },
      executionTimeout: '10m',
      fn: async (_input, ctx) => {
        executions++;
        let last = '';
        for (let i = 0; i < CALLS; i++) last = await ctx.memo(receipt, i);
        await ctx.sleepFor('500ms');
        return { last, after: await ctx.memo(() => 'after the sleep') };
      },
    });
    const worker = await skein.worker('w', { workflows: [task] });
    await worker.start();
    const ref = await task.runNoWait({});
    expect(await ref.result()).toEqual({ last: receipt(CALLS - 1), after: 'after the sleep' });
    // Run once, dropped from memory while it slept, replayed once.
    expect(executions).toBe(2);
    // The first dispatch asked and found nothing; the replay asked for the calls after the
    // 10,000 it kept, and got the one recorded since: the sleep's result.
    expect(worker.historyReads).toEqual({ requests: 2, calls: 1 });

    const snapshot = await snapshotOf(namespace, ref.runId);
    expect(snapshot).toBeDefined();
    // The state holds the calls' count, not the calls (over 1.2 MB of them); what remains is
    // the run and the ids of the last 256 messages handled, whatever the history's length.
    expect(snapshot!.bytes).toBeLessThan(64 * 1024);
    // A load reads at most the entries since the last snapshot (taken every 100).
    expect(snapshot!.entriesAfter).toBeLessThanOrEqual(100);
  }, 180_000);

  it('a worker without the history reads it in pages, each within a NATS message', async () => {
    const { skein } = await env.client();
    const big = (i: number) => `${i}:`.padEnd(10_000, 'y');
    const task = skein.durableTask({
      name: 'big-memos',
      fn: async (_input, ctx) => {
        for (let i = 0; i < 300; i++) await ctx.memo(big, i);
        const go = await ctx.waitForEvent<string>('go');
        return `${go}:${(await ctx.memo(big, 300)).length}`;
      },
    });
    const first = await skein.worker('first', { workflows: [task] });
    await first.start();
    const ref = await task.runNoWait({});
    await waitForHistory(skein, ref.runId, 'TaskSuspended', { timeout: 60_000 });
    // The first worker stops: it hands the waiting task back, and another replays it.
    await first.stop();
    const second = await skein.worker('second', { workflows: [task] });
    await second.start();
    await skein.events.push('go', 'went');
    expect(await ref.result()).toBe('went:10000');
    // 300 calls of 10 KB and the event: about 3 MB, read in pages of at most 1 MB.
    expect(second.historyReads.calls).toBe(301);
    expect(second.historyReads.requests).toBeGreaterThanOrEqual(3);

    // The whole history in one call, also well over a NATS message.
    const all = await skein.runs.history(ref.runId);
    expect(all.filter((e) => e.type === 'DurableCallRecorded')).toHaveLength(302);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  }, 120_000);
});

describe('runs.history pages', () => {
  let skein: Skein;
  let runId: string;
  beforeAll(async () => {
    ({ skein } = await env.client());
    const task = skein.durableTask({
      name: 'forty-calls',
      fn: async (_input, ctx) => {
        for (let i = 0; i < 40; i++) await ctx.memo((n: number) => n, i);
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    await ref.result();
    runId = ref.runId;
  });

  it('gives the events after `after`, at most `limit`, in order, and nothing past the end', async () => {
    const all = await skein.runs.history(runId);
    expect(all.length).toBeGreaterThan(40);
    const pages = [];
    for (let after = 0; ;) {
      const page = await skein.runs.history(runId, { after, limit: 7 });
      expect(page.length).toBeLessThanOrEqual(7);
      if (page.length === 0) break;
      pages.push(...page);
      after = page.at(-1)!.seq;
    }
    expect(pages).toEqual(all);
    expect(await skein.runs.history(runId, { after: 5, limit: 3 })).toEqual(all.slice(5, 8));
    expect(await skein.runs.history(runId, { after: 30 })).toEqual(all.slice(30));
    expect(await skein.runs.history(runId, { after: all.length })).toEqual([]);
    expect(await skein.runs.history(runId, {})).toEqual(all);
  });

  it('refuses unknown options and bad positions, naming them', async () => {
    await expect(skein.runs.history(runId, { afterSeq: 3 } as never)).rejects.toThrow(
      ValidationError,
    );
    await expect(skein.runs.history(runId, { afterSeq: 3 } as never)).rejects.toThrow(/afterSeq/);
    await expect(skein.runs.history(runId, { after: -1 })).rejects.toThrow(/after/);
    await expect(skein.runs.history(runId, { limit: 0 })).rejects.toThrow(/limit/);
    await expect(skein.runs.history(runId, { limit: 1.5 })).rejects.toThrow(ValidationError);
  });
});
