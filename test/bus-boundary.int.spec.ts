/**
 * Messages from other publishers on the bus, each of which once stopped a process or filled
 * its log: none may now. Counts of what was refused show in `/status` and in rate-limited logs.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { pino, type Logger } from 'pino';
import { NotFoundError, RunCancelledError, Skein, ValidationError } from 'skein';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../actors/testing/random.js';
import { decode, encode } from '../runtime/codec.js';
import { publishToWorker } from '../runtime/dispatch-signature.js';
import { names } from '../runtime/protocol.js';
import { rejectionCounts } from '../runtime/rejections.js';
import { snapshotKey } from '../runtime/subjects.js';
import { aborted, gate, sleep } from './fixtures/gate.js';
import { startChild } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';
import { getFreePort } from './support/nats-process.js';
import { forgedTask } from './support/forged-task.js';

let env: SkeinEnv;
const conns: NatsConnection[] = [];
beforeAll(async () => {
  env = await startSkeinEnv({ maxPayload: 64 * 1024 });
});
afterAll(async () => {
  await Promise.allSettled(conns.map((nc) => nc.close()));
  await env.stop();
});

async function peer() {
  const nc = await connect({ servers: env.url });
  conns.push(nc);
  return nc;
}

function randomBytes(seed: number, length: number) {
  const next = mulberry32(seed);
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

/** A logger that keeps its lines, to count them. */
function recordingLogger(): { logger: Logger; lines: { msg: string; reason?: string }[] } {
  const lines: { msg: string; reason?: string }[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  return { logger, lines };
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('the bus boundary', () => {
  it('a direct request whose refusals exceed max_payload gets a reply, and the engine lives', async () => {
    const { skein, engine, namespace } = await env.client();
    await engine.stop();
    const child = await startChild('engine-process.ts', [env.url, namespace]);
    try {
      const task = skein.task({ name: 'inc', fn: (n: number) => n + 1 });
      await (await skein.worker('w', { workflows: [task] })).start();
      expect(await task.run(1)).toBe(2);
      const nc = await peer();
      // ~60 KB of messages that each fail the schema with a long error: the refusals are bigger.
      const batch = Array.from({ length: 1000 }, (_, i) => ({
        type: 'run',
        id: `r${i}`,
        message: { type: 'Trigger', id: 'x' },
      }));
      expect(encode(batch).length).toBeLessThan(64 * 1024);
      const exited = new Promise<never>((_, reject) =>
        child.process.once('exit', (code, signal) =>
          reject(new Error(`engine died (${code ?? signal}):\n${child.output()}`)),
        ),
      );
      const answer = await Promise.race([
        nc.request(names(namespace).directPartition(0), encode(batch), { timeout: 10_000 }),
        exited,
      ]);
      // The refusals did not fit: the reply goes without them (the sender then uses the inbox).
      expect(decode(answer.data)).toEqual([]);
      expect(await Promise.race([task.run(41), exited])).toBe(42);
    } finally {
      await child.kill();
    }
  }, 30_000);

  it('[null] on a dispatch subject and random bytes on a cancel subject leave the worker serving', async () => {
    const { logger } = recordingLogger();
    const { namespace } = await env.client();
    const skein = Skein.init({ natsUrl: env.url, namespace, logger });
    try {
      const task = skein.task({ name: 'inc', fn: (n: number) => n + 1 });
      const worker = await skein.worker('w', { workflows: [task] });
      await worker.start();
      const n = names(namespace);
      const nc = await peer();
      nc.publish(n.workerDispatch(worker.id), encode([null]));
      nc.publish(n.workerDispatch(worker.id), encode([{ key: 1 }, 'x', []]));
      nc.publish(n.workerDispatch(worker.id), encode(null));
      nc.publish(n.workerCancel(worker.id), randomBytes(1, 64));
      nc.publish(n.workerCancel(worker.id), encode(null));
      nc.publish(n.workerCancel(worker.id), new Uint8Array());
      await nc.flush();
      await vi.waitFor(() => expect(sum(rejectionCounts(logger))).toBeGreaterThanOrEqual(6));
      expect(await task.run(1)).toBe(2);
    } finally {
      await skein.close();
    }
  }, 20_000);

  it('an id over 255 bytes is a ValidationError before any NATS call, and the engine keeps its connection', async () => {
    const { skein, namespace } = await env.client();
    const task = skein.task({ name: 'inc', fn: (n: number) => n + 1 });
    await (await skein.worker('w', { workflows: [task] })).start();
    const long = 'r'.repeat(5000);
    await expect(skein.runs.get(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.history(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.logs(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.cancel(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.replay(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.runs.get('a\u0000b')).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.events.push('k'.repeat(256), {})).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.crons.delete(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(skein.schedules.delete(long)).rejects.toBeInstanceOf(ValidationError);
    await expect(task.run(1, { key: long })).rejects.toBeInstanceOf(ValidationError);
    expect(() => skein.task({ name: 'é'.repeat(150), fn: () => 1 })).toThrow(ValidationError);
    expect(() => skein.task({ name: 'a\u0001b', fn: () => 1 })).toThrow(ValidationError);
    await expect(skein.worker('é'.repeat(200), { workflows: [task] })).rejects.toBeInstanceOf(
      ValidationError,
    );

    // The same id sent to the engine by hand is refused with a typed error.
    const nc = await peer();
    const n = names(namespace);
    for (const op of ['runs.get', 'runs.history', 'runs.logs']) {
      const reply = await nc.request(n.api(op), encode({ runId: long }), { timeout: 5000 });
      expect(decode<{ error: { name: string } }>(reply.data).error.name).toBe('ValidationError');
    }
    const direct = await nc.request(
      n.directPartition(0),
      encode([{ type: 'run', id: long, message: { type: 'Cancel', id: 'c', reason: 'x' } }]),
      { timeout: 5000 },
    );
    expect(decode<{ ok: boolean; invalid?: boolean }[]>(direct.data)[0]).toMatchObject({
      ok: false,
      invalid: true,
    });
    const tooMany = await nc.request(n.directPartition(0), encode(Array(2000).fill({})), {
      timeout: 5000,
    });
    expect(decode(tooMany.data)).toEqual([
      { ok: false, invalid: true, error: expect.stringMatching(/at most 1024/) },
    ]);
    expect(await task.run(41)).toBe(42);
  }, 20_000);

  it('with a dispatch key, a worker runs only what the engine signed', async () => {
    const { logger } = recordingLogger();
    const { namespace } = await env.client({ engine: { dispatchKey: 'secret-1' } });
    const skein = Skein.init({ natsUrl: env.url, namespace, logger, dispatchKey: 'secret-1' });
    try {
      const ran: string[] = [];
      const task = skein.task({
        name: 'record',
        fn: (input: string, ctx) => {
          ran.push(ctx.runId);
          return input;
        },
      });
      const worker = await skein.worker('w', { workflows: [task] });
      await worker.start();
      expect(await task.run('ok')).toBe('ok');

      const forged = forgedTask('forged');
      const nc = await peer();
      const subject = names(namespace).workerDispatch(worker.id);
      nc.publish(subject, encode([forged]));
      publishToWorker(nc, 'another-key', subject, encode([{ ...forged, runId: 'forged2' }]));
      await nc.flush();
      await vi.waitFor(() =>
        expect(rejectionCounts(logger)['dispatch-unsigned']).toBeGreaterThanOrEqual(2),
      );
      expect(await task.run('still ok')).toBe('still ok');
      expect(ran.filter((id) => id.startsWith('forged'))).toEqual([]);

      // Cancels are signed too: a running task still hears of its run's cancellation.
      const started = gate<AbortSignal>();
      const waiting = skein.task({
        name: 'waiting',
        fn: async (_: unknown, ctx) => {
          started.open(ctx.signal);
          await Promise.race([aborted(ctx.signal), sleep(10_000)]);
          return ctx.signal.aborted ? 'aborted' : 'not cancelled';
        },
      });
      await (await skein.worker('w2', { workflows: [waiting] })).start();
      const ref = await waiting.runNoWait({});
      const signal = await started.promise;
      await skein.runs.cancel(ref.runId);
      await expect(ref.result()).rejects.toBeInstanceOf(RunCancelledError);
      await vi.waitFor(() => expect(signal.aborted).toBe(true));
    } finally {
      await skein.close();
    }
  }, 20_000);

  it('a flood of malformed messages writes a few log lines and shows in /status', async () => {
    const { logger, lines } = recordingLogger();
    const port = await getFreePort();
    const { skein, namespace } = await env.client({ engine: { logger, http: { port } } });
    const task = skein.task({ name: 'inc', fn: (n: number) => n + 1 });
    await (await skein.worker('w', { workflows: [task] })).start();
    const n = names(namespace);
    const nc = await peer();
    for (let i = 0; i < 2000; i++) {
      nc.publish(n.schedulerRejected, randomBytes(i, 16));
      nc.publish(n.timerSubject, encode({ nope: i }));
    }
    await nc.flush();
    await vi.waitFor(
      async () => {
        const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
          rejectedMessages: Record<string, number>;
        };
        expect(status.rejectedMessages['scheduler-malformed']).toBe(2000);
        expect(status.rejectedMessages['timer-malformed']).toBe(2000);
      },
      { timeout: 20_000, interval: 200 },
    );
    // The first of each reason at once, then at most one summary line per reason and interval.
    expect(lines.filter((l) => /malformed/.test(l.msg)).length).toBeLessThanOrEqual(6);
    expect(await task.run(1)).toBe(2);
  }, 40_000);

  it('an answer over max_payload is refused with a ValidationError, and the engine lives', async () => {
    const { skein } = await env.client();
    const size = skein.task({ name: 'size', fn: (s: string) => s.length });
    await (await skein.worker('w', { workflows: [size] })).start();
    const blob = 'x'.repeat(10 * 1024);
    await Promise.all(Array.from({ length: 8 }, () => size.run(blob)));
    const err = await skein.runs.list({ limit: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/max_payload.*limit/);
    expect((await skein.runs.list({ limit: 2 })).length).toBe(2);
    expect(await size.run('abc')).toBe(3);
  }, 20_000);

  it('a garbage snapshot is skipped: the run is read from its journal', async () => {
    const { skein, namespace, engine, startEngine } = await env.client();
    const task = skein.task({ name: 'inc', fn: (x: number) => x + 1 });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait(1);
    expect(await ref.result()).toBe(2);
    const nc = await peer();
    const snapshots = await new Kvm(nc).open(names(namespace).buckets.snapshots);
    await snapshots.put(snapshotKey('run', ref.runId), randomBytes(3, 50));
    // A new engine has nothing cached: it reads the snapshot first.
    await engine.stop();
    const port = await getFreePort();
    await startEngine({ http: { port } });
    expect((await skein.runs.get(ref.runId)).status).toBe('COMPLETED');
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
      rejectedMessages: Record<string, number>;
    };
    expect(status.rejectedMessages['snapshot-malformed']).toBeGreaterThanOrEqual(1);
    expect(await task.run(41)).toBe(42);
  }, 30_000);

  it('garbage stored on run journals and logs is skipped by lists, reads and history', async () => {
    const { skein, namespace } = await env.client();
    const task = skein.task({
      name: 'inc',
      fn: (n: number, ctx) => {
        ctx.log('hello');
        return n + 1;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait(1);
    expect(await ref.result()).toBe(2);
    const n = names(namespace);
    const nc = await peer();
    const { jetstream } = await import('@nats-io/jetstream');
    const js = jetstream(nc);
    await js.publish(n.journalSubject('run', 'ghost'), encode(42));
    await js.publish(n.journalSubject('run', 'ghost2'), randomBytes(7, 40));
    await js.publish(n.journalSubject('run', ref.runId), encode({ m: 1 }));
    await js.publish(n.logSubject(ref.runId), randomBytes(8, 40));

    const listed = await skein.runs.list();
    expect(listed.map((r) => r.id)).toEqual([ref.runId]);
    const run = await skein.runs.get(ref.runId);
    expect(run.status).toBe('COMPLETED');
    const history = await skein.runs.history(ref.runId);
    expect(history.map((e) => e.type)).toContain('RunCompleted');
    expect((await skein.runs.logs(ref.runId)).map((l) => l.message)).toContain('hello');
    await expect(skein.runs.history('ghost')).rejects.toBeInstanceOf(NotFoundError);
    await expect(skein.runs.get('ghost2')).rejects.toBeInstanceOf(NotFoundError);
    expect(await task.run(41)).toBe(42);
  }, 20_000);
});
