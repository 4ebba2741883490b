/**
 * The least-privilege NATS accounts of docs/API.md ("Security"): an engine, a worker and a
 * client, each with exactly its listed permissions, run tasks, a workflow and a durable task
 * (sleep, memo, child run, event wait) to the end; a worker without publish rights on the
 * engine's subjects cannot forge a dispatch or a journal entry; and a client denied a subject
 * gets a ConnectionError naming the permission and the subject, not a hang.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, Skein } from 'skein';
import { startEngine, type Engine } from 'skein/runtime';
import { encode } from '../runtime/codec.js';
import { names } from '../runtime/protocol.js';
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';
import { usersConfig, type Permissions } from './support/nats-credentials.js';
import {
  clientPermissions,
  enginePermissions,
  largePayloadPermissions,
  readerPermissions,
  workerPermissions,
} from './support/skein-permissions.js';
import { testLogger } from './support/skein-env.js';
import { forgedTask } from './support/forged-task.js';

const ns = `lp${randomUUID().slice(0, 6)}`;
const users: Record<string, Permissions> = {
  engine: enginePermissions(ns),
  worker: workerPermissions(ns, { startsRuns: true }),
  plainWorker: workerPermissions(ns),
  client: clientPermissions(ns),
  reader: readerPermissions(ns),
  bigWorker: {
    publish: [...workerPermissions(ns).publish, ...largePayloadPermissions(ns)],
    subscribe: workerPermissions(ns).subscribe,
  },
  bigClient: {
    publish: [
      ...clientPermissions(ns).publish,
      ...largePayloadPermissions(ns, { pushesEvents: true }),
    ],
    subscribe: clientPermissions(ns).subscribe,
  },
  /** An engine that may not create streams. */
  weakEngine: {
    publish: enginePermissions(ns).publish.map((x) => (x === '$JS.API.>' ? '$JS.API.INFO' : x)),
    subscribe: enginePermissions(ns).subscribe,
  },
  /** A worker that may not hear its dispatches. */
  deaf: {
    ...workerPermissions(ns),
    subscribe: workerPermissions(ns).subscribe.filter((x) => x !== `${ns}.w.>`),
  },
  /** A client that may not look at the namespace's buckets. */
  blind: {
    ...readerPermissions(ns),
    publish: readerPermissions(ns).publish.filter((x) => !x.startsWith('$JS.API.STREAM.INFO.KV_')),
  },
};
const as = (user: string) => ({ user, pass: `pw-${user}` });

let nats: NatsServerHandle;
let engine: Engine;
const closing: Skein[] = [];
const sdk = (user: string) => {
  const s = Skein.init({ natsUrl: nats.url, namespace: ns, nats: as(user), logger: testLogger });
  closing.push(s);
  return s;
};

beforeAll(async () => {
  nats = await startNatsServer({
    config: usersConfig([
      { user: 'admin', password: 'pw-admin' },
      ...Object.entries(users).map(([user, permissions]) => ({
        user,
        password: `pw-${user}`,
        permissions,
      })),
    ]),
    probe: { user: 'admin', pass: 'pw-admin' },
  });
  engine = await startEngine({
    natsUrl: nats.url,
    namespace: ns,
    nats: as('engine'),
    logger: testLogger,
  });
});
afterAll(async () => {
  await Promise.allSettled(closing.map((s) => s.close()));
  await engine?.stop();
  await nats?.stop();
});

/** The declarations, shared by the worker (which runs them) and the client (which triggers). */
function declare(skein: Skein, executed: string[] = []) {
  const echo = skein.task({
    name: 'echo',
    fn: (i: { n: number }) => {
      executed.push(`echo:${i.n}`);
      return { twice: i.n * 2 };
    },
  });
  const limited = skein.task({
    name: 'limited',
    rateLimits: [{ staticKey: 'k', units: 1 }],
    concurrency: 2,
    fn: () => 'ok',
  });
  const wf = skein.workflow<{ n: number }>({ name: 'wf' });
  const a = wf.task({
    name: 'a',
    fn: (i: { n: number }, ctx) => {
      ctx.log('in a');
      ctx.putStream({ in: 'a' });
      return { v: i.n + 1 };
    },
  });
  wf.task({ name: 'b', parents: [a], fn: (_i, ctx) => ({ v: ctx.parentOutput(a).v * 10 }) });
  const dur = skein.durableTask({
    name: 'dur',
    fn: async (_i, ctx) => {
      await ctx.sleepFor('200ms');
      const r = await ctx.memo(async () => 5);
      const child = await skein.run<{ twice: number }>('echo', { n: r });
      const ev = await ctx.waitForEvent<{ ok: boolean }>('go');
      return { ok: ev.ok, child: child.twice };
    },
  });
  return { echo, limited, wf, dur };
}

describe('Skein under the least-privilege accounts of the docs', () => {
  it('an engine, a worker and a client with exactly their permissions complete runs', async () => {
    const ws = sdk('worker');
    const worker = await ws.worker('w', { workflows: Object.values(declare(ws)) });
    await worker.start();
    const client = sdk('client');
    const d = declare(client);
    await client.rateLimits.upsert({ key: 'k', limit: 100, duration: 'second' });
    await expect(client.run('echo', { n: 21 })).resolves.toEqual({ twice: 42 });
    await expect(d.limited.run({})).resolves.toBe('ok');
    await expect(d.wf.run({ n: 1 })).resolves.toMatchObject({ a: { v: 2 }, b: { v: 20 } });
    const durRef = await d.dur.runNoWait({});
    await expect
      .poll(
        async () =>
          (await client.runs.history(durRef.runId)).some(
            (e) => e.type === 'DurableWaitStarted' && JSON.stringify(e.data).includes('go'),
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    await client.events.push('go', { ok: true });
    await expect(durRef.result()).resolves.toEqual({ ok: true, child: 10 });
    expect((await client.runs.get(durRef.runId)).status).toBe('COMPLETED');
    expect((await client.runs.list({ limit: 5 })).length).toBeGreaterThan(0);
    const wfRef = await d.wf.runNoWait({ n: 2 });
    await wfRef.result();
    expect((await client.runs.logs(wfRef.runId)).map((l) => l.message)).toContain('in a');
    for await (const chunk of client.runs.subscribeToStream(wfRef.runId))
      expect(chunk).toBe('none');
    expect(await client.workers.list()).toHaveLength(1);
    await d.echo.schedule(new Date(Date.now() + 200), { n: 1 });
    expect(await client.schedules.list()).toHaveLength(1);
    await d.echo.createCron('c1', '0 0 * * *', { n: 1 });
    expect(await client.crons.list()).toHaveLength(1);
    await worker.stop();
    // Nothing was refused along the way (a refused publish or subscription is logged).
    expect(nats.logs()).not.toMatch(/Violation/);
  }, 120_000);
});

/** A plain NATS connection as `user`, and the first permission error the server sends it. */
async function peer(user: string) {
  const nc = await connect({ servers: nats.url, ...as(user), name: `peer-${user}` });
  const refused = (async () => {
    for await (const s of nc.status())
      if (s.type === 'error' && s.error.name === 'PermissionViolationError') return s.error.message;
    return 'closed';
  })();
  return { nc, refused };
}

async function forgedDispatch(nc: NatsConnection, workerId: string, input: string) {
  nc.publish(names(ns).workerDispatch(workerId), encode([forgedTask(input)]));
  await nc.flush();
}

describe('a worker without publish rights on the engine subjects', () => {
  it('cannot make another worker run a task, nor write a run journal', async () => {
    const ran: string[] = [];
    const ws = sdk('plainWorker');
    const record = ws.task({ name: 'record', fn: (input: string) => void ran.push(input) });
    const worker = await ws.worker('rec', { workflows: [record] });
    await worker.start();

    const rogue = await peer('plainWorker');
    try {
      await forgedDispatch(rogue.nc, worker.id, 'forged-by-worker');
      await expect(rogue.refused).resolves.toMatch(
        `Permissions Violation for Publish to "${names(ns).workerDispatch(worker.id)}"`,
      );
      const journal = rogue.nc.request(names(ns).journalSubject('run', 'forged'), encode({}), {
        timeout: 30_000,
      });
      await expect(journal).rejects.toThrow(/Permissions Violation for Publish/);
    } finally {
      await rogue.nc.close();
    }

    // The same message from an account that may publish there runs: the permission stopped it.
    const trusted = await peer('engine');
    try {
      await forgedDispatch(trusted.nc, worker.id, 'sent-by-engine-account');
      await expect.poll(() => ran, { timeout: 30_000 }).toContain('sent-by-engine-account');
    } finally {
      await trusted.nc.close();
    }
    expect(ran).not.toContain('forged-by-worker');
    await worker.stop();
  }, 60_000);
});

describe('a client denied a subject', () => {
  it('gets a ConnectionError naming the permission and the subject, at once', async () => {
    const reader = sdk('reader');
    expect((await reader.runs.list({ limit: 1 })).length).toBeGreaterThanOrEqual(0);
    const started = Date.now();
    const push = reader.events.push('some:key', {});
    await expect(push).rejects.toBeInstanceOf(ConnectionError);
    await expect(push).rejects.toThrow(
      `NATS refused to let this client publish to '${names(ns).eventSubject('some:key')}'`,
    );
    const run = reader.run('echo', { n: 1 });
    await expect(run).rejects.toBeInstanceOf(ConnectionError);
    await expect(run).rejects.toThrow(/NATS refused to let this client publish to '.*\.j\.run\./);
    expect(Date.now() - started).toBeLessThan(4_000);
  }, 60_000);

  it('a worker that may not subscribe to its dispatches fails to start, saying so', async () => {
    const deaf = sdk('deaf');
    const task = deaf.task({ name: 'never', fn: () => 'x' });
    const worker = await deaf.worker('deaf', { workflows: [task] });
    const start = worker.start();
    await expect(start).rejects.toBeInstanceOf(ConnectionError);
    await expect(start).rejects.toThrow(
      `NATS refused to let this client subscribe to '${names(ns).workerDispatch(worker.id)}'`,
    );
  }, 60_000);

  it('a client that may not open the namespace hears of the permission, not of a missing engine', async () => {
    const get = sdk('blind').runs.get('r');
    await expect(get).rejects.toBeInstanceOf(ConnectionError);
    await expect(get).rejects.toThrow(
      /NATS refused to let this client publish to '\$JS\.API\.STREAM\.INFO\.KV_/,
    );
  }, 60_000);

  it('an engine that may not create its streams rejects with a ConnectionError naming the subject', async () => {
    const weak = startEngine({
      natsUrl: nats.url,
      namespace: ns,
      nats: as('weakEngine'),
      logger: testLogger,
    });
    await expect(weak).rejects.toBeInstanceOf(ConnectionError);
    await expect(weak).rejects.toThrow(
      /NATS refused to let this client publish to '\$JS\.API\.STREAM\./,
    );
  }, 60_000);

  it('skein engine that may not create its streams says so once and exits 1', async () => {
    const bin = fileURLToPath(new URL('../bin/skein.js', import.meta.url));
    const out = await promisify(execFile)(process.execPath, [bin, 'engine'], {
      env: {
        ...process.env,
        SKEIN_NATS_URL: nats.url,
        SKEIN_NAMESPACE: ns,
        SKEIN_NATS_USER: 'weakEngine',
        SKEIN_NATS_PASS: 'pw-weakEngine',
      },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '', killed: false }),
      (e: { code: number; stderr: string; killed: boolean }) => e,
    );
    expect(out.killed).toBe(false);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^skein: NATS refused to let this client publish to '\$JS\.API\./);
  }, 90_000);
});

// Last: the runs it leaves hold large values, which the other accounts may not read.
describe('large payloads under the least-privilege accounts of the docs', () => {
  it('a worker and a client with the large-payload rights added store and read large values', async () => {
    const big = (seed: string) => seed.repeat(3 * 1024 * 1024);
    const declareBig = (skein: Skein) => ({
      bigEcho: skein.task({
        name: 'big-echo',
        fn: (input: string, ctx) => {
          ctx.log(big('l'));
          return input.toUpperCase();
        },
      }),
      onBig: skein.task({
        name: 'on-big',
        onEvents: ['big:pushed'],
        fn: (input: string) => input.length,
      }),
      bigWait: skein.durableTask({
        name: 'big-wait',
        evictionPolicy: { ttl: '100ms' },
        fn: async (_i, ctx) => {
          const m = await ctx.memo(() => big('m'));
          const ev = await ctx.waitForEvent<string>('big:reply');
          return m.length + ev.length;
        },
      }),
    });
    const ws = sdk('bigWorker');
    const worker = await ws.worker('big', { workflows: Object.values(declareBig(ws)) });
    await worker.start();
    const client = sdk('bigClient');
    const d = declareBig(client);
    const ref = await d.bigEcho.runNoWait(big('i'));
    expect((await ref.result()) === big('I')).toBe(true);
    expect((await client.runs.get(ref.runId)).input === big('i')).toBe(true);
    expect((await client.runs.logs(ref.runId)).some((l) => l.message === big('l'))).toBe(true);
    const waiting = await d.bigWait.runNoWait({});
    await expect
      .poll(async () =>
        (await client.runs.history(waiting.runId)).some((e) => e.type === 'DurableWaitStarted'),
      )
      .toBe(true);
    await client.events.push('big:reply', big('r'));
    await expect(waiting.result()).resolves.toBe(2 * 3 * 1024 * 1024);
    await client.events.push('big:pushed', big('p'));
    await expect
      .poll(async () => (await client.runs.list({ name: 'on-big' }))[0]?.output, {
        timeout: 30_000,
      })
      .toBe(3 * 1024 * 1024);
    await worker.stop();
    // Nothing these three were refused (the tests before provoke refusals of other users).
    expect(nats.logs()).not.toMatch(/Violation - User "(bigWorker|bigClient|engine)"/);
  }, 120_000);
});
