/**
 * Stored formats against a real server: what 0.1.0 stored (no version header) and what this
 * release stores are read; what a newer Skein stored is skipped, counted, and logged once.
 */
import { randomUUID } from 'node:crypto';
import { headers } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encode } from '../runtime/codec.js';
import { FORMAT_HEADER, FORMAT_VERSION, formatOf } from '../runtime/format.js';
import { Journal } from '../runtime/journal.js';
import type { JournalEntry } from '../runtime/journal-entries.js';
import { names } from '../runtime/protocol.js';
import { NEWER_FORMAT, rejectionCounts } from '../runtime/rejections.js';
import { Requester } from '../runtime/requester.js';
import { ensureStreams } from '../runtime/setup.js';
import { readSubject } from '../runtime/stream-reads.js';
import { getFreePort } from './support/nats-process.js';
import { SOON } from './support/patience.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

function recording() {
  const lines: { msg: string; reason?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { logger, newerLines: () => lines.filter((l) => /newer Skein/.test(l.msg)) };
}

const stamped = (version: number) => {
  const h = headers();
  h.set(FORMAT_HEADER, String(version));
  return h;
};

const entry = (m: string): JournalEntry => ({ m, at: 1, ev: [{ type: 'Noted' }], fx: [] });

describe('stored formats', () => {
  it('a journal reads entries of 0.1.0 and of this release, and skips those of a newer one', async () => {
    const n = names(`t${randomUUID().slice(0, 8)}`);
    const nc = await connect({ servers: env.url });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureStreams(jsm, n);
    const requester = new Requester(nc);
    const { logger, newerLines } = recording();
    const journal = new Journal(requester, jsm, n, logger);
    const subject = journal.subject('run', 'r1');

    const seq = await journal.append('run', 'r1', entry('current'), 0);
    const stored = await jsm.direct.getMessage(n.streams.journal, { seq });
    expect(stored?.header.get(FORMAT_HEADER)).toBe(String(FORMAT_VERSION));
    await js.publish(subject, encode(entry('from-0.1.0'))); // 0.1.0 set no header
    await js.publish(subject, encode(entry('future')), { headers: stamped(FORMAT_VERSION + 1) });
    await js.publish(subject, new TextEncoder().encode('{"future":"encoding"}'), {
      headers: stamped(FORMAT_VERSION + 7),
    });

    const read = await journal.read('run', 'r1');
    expect(read.map((r) => r.entry.m)).toEqual(['current', 'from-0.1.0', '', '']);
    expect(read[3].entry.ev).toEqual([]); // a skipped entry keeps its place and does nothing
    expect(rejectionCounts(logger)).toEqual({ [NEWER_FORMAT]: 2 });
    expect(newerLines()).toHaveLength(1);
    requester.close();
    await nc.close();
  });

  it('what a run stores is stamped with the current format', async () => {
    const { skein, namespace } = await env.client();
    const child = skein.task({ name: 'child', fn: (x: number) => x * 2 });
    const parent = skein.durableTask({
      name: 'parent',
      fn: async (x: number, ctx) => {
        ctx.log('before the nap');
        await ctx.sleepFor(50);
        return child.run(x);
      },
    });
    await (await skein.worker('w', { workflows: [child, parent] })).start();
    const ref = await parent.runNoWait(21);
    expect(await ref.result()).toBe(42);

    const nc = await connect({ servers: env.url });
    const jsm = await jetstreamManager(nc);
    const n = names(namespace);
    const stored = [
      ...(await readSubject(jsm, n.streams.journal, n.journalSubject('run', ref.runId))),
      ...(await readSubject(jsm, n.streams.logs, n.logSubject(ref.runId))),
    ];
    expect(stored.length).toBeGreaterThan(3);
    expect(stored.map((m) => formatOf(m.headers))).toEqual(stored.map(() => FORMAT_VERSION));
    await nc.close();
  });

  it('an engine skips inbox messages of a newer Skein, counted and logged once, and keeps serving', async () => {
    const { logger, newerLines } = recording();
    const port = await getFreePort();
    const { skein, namespace } = await env.client({ engine: { logger, http: { port } } });
    const task = skein.task({ name: 'still-works', fn: (x: number) => x + 1 });
    await (await skein.worker('w', { workflows: [task] })).start();

    const n = names(namespace);
    const nc = await connect({ servers: env.url });
    const js = jetstream(nc);
    for (const id of ['r-future-1', 'r-future-2'])
      await js.publish(n.inboxSubject('run', id), encode({ type: 'Unheard', id }), {
        headers: stamped(FORMAT_VERSION + 1),
      });
    await vi.waitFor(async () => {
      const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
        rejectedMessages: Record<string, number>;
      };
      expect(status.rejectedMessages[NEWER_FORMAT]).toBe(2);
    }, SOON);
    expect(newerLines()).toHaveLength(1);
    expect(newerLines()[0].reason).toBe(NEWER_FORMAT);
    expect(await task.run(41)).toBe(42);
    await nc.close();
  });
});
