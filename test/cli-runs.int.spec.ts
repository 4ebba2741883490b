/** `skein runs …` run as the real binary against a real nats-server, an engine and a worker. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Skein } from 'skein';
import { skeinCli, spawnCli } from './support/cli.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

// Each command is a Node process starting tsx: seconds apiece on a busy machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

let env: SkeinEnv;
let skein: Skein;
let cliEnv: Record<string, string>;
/** Held runs wait here until the test releases them by their input's gate. */
const gates = new Map<string, () => void>();
const release = (gate: string) => vi.waitFor(() => gates.get(gate)!(), { timeout: 30_000 });

let greetId: string;
let boomId: string;

beforeAll(async () => {
  env = await startSkeinEnv();
  const client = await env.client();
  skein = client.skein;
  cliEnv = { SKEIN_NATS_URL: env.url, SKEIN_NAMESPACE: client.namespace };
  const greet = skein.task({
    name: 'greet',
    fn: (input: { name: string }, ctx) => {
      ctx.log(`hello ${input.name}`);
      return { greeting: `Hello, ${input.name}` };
    },
  });
  const boom = skein.task({
    name: 'boom',
    fn: () => {
      throw new Error('kaboom');
    },
  });
  const hold = skein.task({
    name: 'hold',
    fn: async (input: { gate: string; fail?: boolean }, ctx) => {
      ctx.log('waiting');
      // A stream has no past: whoever subscribes sees the ticks from then on.
      let progress = 0;
      const ticks = setInterval(() => ctx.putStream({ progress: ++progress }), 100);
      await new Promise<void>((resolve) => {
        gates.set(input.gate, resolve);
        ctx.signal.addEventListener('abort', () => resolve());
      });
      clearInterval(ticks);
      ctx.log('released');
      if (input.fail) throw new Error('let go badly');
      return { released: input.gate };
    },
  });
  const pipeline = skein.workflow({ name: 'pipeline' });
  const first = pipeline.task({ name: 'first', fn: () => ({ at: Date.now() }) });
  pipeline.task({ name: 'second', parents: [first], fn: () => ({ done: true }) });
  await (await skein.worker('cli-w', { workflows: [greet, boom, hold, pipeline] })).start();

  greetId = (await greet.runNoWait({ name: 'Ann' }, { additionalMetadata: { tenant: 'acme' } }))
    .runId;
  const boomRef = await boom.runNoWait({}, { additionalMetadata: { tenant: 'acme' } });
  boomId = boomRef.runId;
  await expect(boomRef.result()).rejects.toThrow(/kaboom/);
  await skein.runRef(greetId).result();
});
afterAll(async () => {
  for (const open of gates.values()) open();
  await env.stop();
});

const cli = (...args: string[]) => skeinCli(args, cliEnv);

describe('skein runs list and get', () => {
  it('lists the runs a filter matches in a table, and the page as JSON', async () => {
    const table = await cli(
      'runs',
      'list',
      '--status',
      'completed,failed',
      '--meta',
      'tenant=acme',
      '--since',
      '1h',
    );
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [heading, ...rows] = table.stdout.trimEnd().split('\n');
    expect(heading).toMatch(/^ID\s+NAME\s+STATUS\s+CREATED\s+TOOK\s+ATTEMPTS\s+ERROR/);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.startsWith(greetId))).toMatch(/greet\s+COMPLETED\s+\d+s ago/);
    expect(rows.find((r) => r.startsWith(boomId))).toMatch(/boom\s+FAILED.*Error: kaboom/);

    const json = await cli(
      'runs',
      'list',
      '--name',
      'boom',
      '--error',
      'KABOOM',
      '--limit',
      '1',
      '--json',
    );
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as { runs: { id: string }[]; nextCursor: string | null };
    expect(page).toEqual({
      runs: [expect.objectContaining({ id: boomId, status: 'FAILED' })],
      nextCursor: null,
    });
  });

  it('prints the next cursor when more runs match, and the next page with --cursor', async () => {
    const first = await cli('runs', 'list', '--meta', 'tenant=acme', '--limit', '1');
    expect(first.code).toBe(0);
    const cursor = /next cursor: (\S+)/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const second = await cli(
      'runs',
      'list',
      '--meta',
      'tenant=acme',
      '--limit',
      '1',
      '--cursor',
      cursor!,
      '--json',
    );
    const page = JSON.parse(second.stdout) as { runs: { id: string }[]; nextCursor: string | null };
    expect(page.runs).toHaveLength(1);
    expect(first.stdout).not.toContain(page.runs[0].id);
  });

  it('shows a run and its tasks, and exits 1 for an unknown id', async () => {
    const got = await cli('runs', 'get', greetId);
    expect(got).toMatchObject({ code: 0, stderr: '' });
    expect(got.stdout).toMatch(/^status\s+COMPLETED$/m);
    expect(got.stdout).toMatch(/^output\s+\{"greeting":"Hello, Ann"\}$/m);
    expect(got.stdout).toMatch(/^metadata\s+tenant=acme$/m);
    expect(got.stdout).toMatch(/^greet\s+COMPLETED\s+1\s+cli-w/m);

    const missing = await cli('runs', 'get', 'no-such-run');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain("no run with id 'no-such-run'");
  });
});

describe('skein runs history and logs', () => {
  it('prints the history, and with --at the run as it was right after that event', async () => {
    const history = await cli('runs', 'history', greetId, '--json');
    expect(history.code).toBe(0);
    const events = JSON.parse(history.stdout) as { seq: number; type: string }[];
    expect(events.map((e) => e.type)).toContain('TaskStarted');
    const started = events.find((e) => e.type === 'TaskStarted')!.seq;

    const then = await cli('runs', 'history', greetId, '--at', String(started));
    expect(then.code).toBe(0);
    expect(then.stdout).toMatch(/^status\s+RUNNING$/m);
    expect(then.stdout).toMatch(/^greet\s+RUNNING\s+1\s+cli-w/m);
    expect(then.stdout).not.toMatch(/^output/m);
  });

  it('prints the log lines', async () => {
    const logs = await cli('runs', 'logs', greetId);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3}\s+info\s+greet\s+hello Ann$/m);
  });

  it('follows the log lines of a running run until it ends (JSON lines)', async () => {
    const ref = await skein.runNoWait('hold', { gate: 'logs' });
    const follow = spawnCli(['runs', 'logs', ref.runId, '--follow', '--json'], cliEnv);
    await vi.waitFor(() => expect(follow.stdout()).toContain('waiting'), { timeout: 60_000 });
    await release('logs');
    expect(await follow.exited).toBe(0);
    const lines = follow
      .stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { message: string });
    expect(lines.map((l) => l.message)).toEqual(['waiting', 'released']);
  });
});

describe('skein runs watch', () => {
  it('follows a run to its end and exits 0 when it completed, showing its stream', async () => {
    const ref = await skein.runNoWait('hold', { gate: 'watch-ok' });
    const watch = spawnCli(['runs', 'watch', ref.runId], cliEnv);
    await vi.waitFor(() => expect(watch.stdout()).toMatch(/task hold RUNNING/), {
      timeout: 60_000,
    });
    await vi.waitFor(() => expect(watch.stdout()).toMatch(/stream \{"progress":\d+\}/), {
      timeout: 30_000,
    });
    await release('watch-ok');
    expect(await watch.exited).toBe(0);
    expect(watch.stdout()).toMatch(/run \S+ COMPLETED in .*output \{"released":"watch-ok"\}/);
  });

  it('exits 1 when the run failed (JSON lines: the run at each change)', async () => {
    const watch = await cli('runs', 'watch', boomId, '--json');
    expect(watch.code).toBe(1);
    const lines = watch.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { run: { status: string } });
    expect(lines.at(-1)!.run.status).toBe('FAILED');
  });
});

describe('skein runs cancel and replay', () => {
  it('cancels runs by id, recorded as by cli', async () => {
    const ref = await skein.runNoWait('hold', { gate: 'cancel-id' });
    await vi.waitFor(async () => expect((await skein.runs.get(ref.runId)).status).toBe('RUNNING'), {
      timeout: 30_000,
    });
    const cancelled = await cli('runs', 'cancel', ref.runId, 'no-such-run');
    expect(cancelled.code).toBe(1);
    expect(cancelled.stdout).toBe(`cancelled ${ref.runId}\n`);
    expect(cancelled.stderr).toContain("no run with id 'no-such-run'");
    await vi.waitFor(
      async () => expect((await skein.runs.get(ref.runId)).status).toBe('CANCELLED'),
      { timeout: 30_000 },
    );
    const history = await skein.runs.history(ref.runId);
    expect(history.find((e) => e.type === 'RunCancelled')?.data).toMatchObject({ by: 'cli' });
  });

  it('with --all-matching only counts without --yes, and acts with it', async () => {
    const refs = await Promise.all(
      ['bulk-1', 'bulk-2'].map((gate) =>
        skein.runNoWait('hold', { gate }, { additionalMetadata: { batch: 'b1' } }),
      ),
    );
    const dry = await cli('runs', 'cancel', '--all-matching', '--meta', 'batch=b1');
    expect(dry).toMatchObject({
      code: 0,
      stdout: '2 matching runs have not ended; run again with --yes to cancel them\n',
    });
    for (const r of refs) expect((await skein.runs.get(r.runId)).status).not.toBe('CANCELLED');

    const done = await cli(
      'runs',
      'cancel',
      '--all-matching',
      '--meta',
      'batch=b1',
      '--yes',
      '--json',
    );
    expect(done).toMatchObject({ code: 0 });
    expect(JSON.parse(done.stdout)).toEqual({ count: 2 });
    for (const r of refs)
      await vi.waitFor(
        async () => expect((await skein.runs.get(r.runId)).status).toBe('CANCELLED'),
        { timeout: 30_000 },
      );

    const replayDry = await cli(
      'runs',
      'replay',
      '--all-matching',
      '--meta',
      'batch=b1',
      '--status',
      'cancelled',
      '--json',
    );
    expect(JSON.parse(replayDry.stdout)).toEqual({ count: 2, done: false });
  });

  it('replays a run by id from a task, and all matching runs', async () => {
    const ref = await skein.runNoWait('pipeline', {}, { additionalMetadata: { batch: 'p1' } });
    await ref.result();
    const replayed = await cli('runs', 'replay', ref.runId, '--from-task', 'second');
    expect(replayed).toMatchObject({ code: 0, stdout: `replaying ${ref.runId}\n` });
    await vi.waitFor(
      async () => {
        const history = await skein.runs.history(ref.runId);
        expect(history.find((e) => e.type === 'RunReplayed')?.data).toEqual({
          by: 'cli',
          fromTask: 'second',
        });
        expect(history.at(-1)?.type).toBe('RunCompleted');
      },
      { timeout: 30_000 },
    );
    const all = await cli('runs', 'replay', '--all-matching', '--meta', 'batch=p1', '--yes');
    expect(all).toMatchObject({ code: 0, stdout: 'replaying 1 run\n' });
  });

  it('refuses a wrong command line with exit 2, naming what is wrong', async () => {
    const both = await cli('runs', 'cancel', 'r1', '--all-matching');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give run ids or --all-matching, not both/);
    const filterWithoutAll = await cli('runs', 'replay', 'r1', '--status', 'failed');
    expect(filterWithoutAll.code).toBe(2);
    expect(filterWithoutAll.stderr).toMatch(/the filters and --yes go with --all-matching/);
  });
});
