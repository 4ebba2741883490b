/**
 * A rolling upgrade with runs in flight: the previous release (git tag PREVIOUS_TAG, checked out
 * into a temp dir) runs an engine and a worker with durable tasks asleep, tasks queued for a
 * worker not started yet and a cron ticking; then an engine of this release starts beside the
 * old one, the old engine stops, a worker of this release starts and the old worker stops.
 * Every run finishes with its output, and the cron keeps ticking. Takes up to two cron minutes.
 */
import { execFileSync, execSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Skein, type RunRef } from 'skein';
import { FORMAT_VERSION, formatOf } from '../runtime/format.js';
import { names } from '../runtime/protocol.js';
import { readSubject } from '../runtime/stream-reads.js';
import { startChild, type ChildHandle } from './support/child.js';
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';
import { testLogger } from './support/skein-env.js';
import { declareUpgradeTasks, SLEEP_MS } from './fixtures/upgrade-tasks.js';

/**
 * The release this one upgrades from; its stored format is version 0 (no header). Its tag, or
 * the commit the tag names: a clone made without tags still holds the commit in its history.
 */
const PREVIOUS_TAG = 'v0.1.0';
const PREVIOUS_COMMIT = 'cf85f55f264bb2de63cb0fa05a9c7e5312638f0a';
const repo = fileURLToPath(new URL('..', import.meta.url));
/** A first start compiles a whole tree (tsx caches by path): slow on a busy machine. */
const BOOT_MS = 90_000;
/** A cron minute, with room for a busy machine. */
const TICK_WAIT = { timeout: 80_000, interval: 500 };

/** The previous release's tree, runnable: its sources, this repo's node_modules, our fixtures. */
function checkOutPrevious(): string {
  const previous = [PREVIOUS_TAG, PREVIOUS_COMMIT].find((ref) => {
    try {
      execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
        cwd: repo,
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  });
  if (!previous)
    throw new Error(
      `the upgrade test needs the previous release (git tag ${PREVIOUS_TAG}, commit ` +
        `${PREVIOUS_COMMIT}), which this clone lacks: run 'git fetch --tags origin' ` +
        `(in a shallow clone: 'git fetch --unshallow --tags origin')`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'skein-previous-'));
  execSync(`git archive --format=tar ${previous} | tar -x -C '${dir}'`, { cwd: repo });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const f of ['upgrade-tasks.ts', 'upgrade-worker.ts'])
    copyFileSync(join(repo, 'test/fixtures', f), join(dir, 'test/fixtures', f));
  return dir;
}

let previous: string | undefined;
let nats: NatsServerHandle | undefined;
let skein: Skein | undefined;
const children: ChildHandle[] = [];
afterAll(async () => {
  await skein?.close();
  await Promise.all(children.map((c) => c.kill()));
  await nats?.stop();
  if (previous) rmSync(previous, { recursive: true, force: true });
});

describe(`upgrading from ${PREVIOUS_TAG}`, () => {
  it('finishes every run in flight across a rolling upgrade, and crons keep ticking', async () => {
    previous = checkOutPrevious();
    nats = await startNatsServer();
    const namespace = `t${randomUUID().slice(0, 8)}`;
    const start = async (tree: string, fixture: string, ...args: string[]) => {
      const script = join(tree, 'test/fixtures', fixture);
      // Run in its own tree: from this repo, tsx would take our tsconfig, whose paths map
      // 'skein' to this release's sources, and the 'old' engine would run the new code.
      const child = await startChild(script, [nats!.url, namespace, ...args], BOOT_MS, tree);
      children.push(child);
      return child;
    };

    const nc = await connect({ servers: nats.url });
    const n = names(namespace);
    /** The engines serving partitions, by the leases they hold. */
    const partitionHolders = async () => {
      const leases = await new Kvm(nc).open(n.buckets.leases);
      const holders = new Set<string>();
      for await (const key of await leases.keys()) {
        const entry = /^p\.\d+$/.test(key) ? await leases.get(key) : null;
        if (entry?.operation === 'PUT') holders.add((entry.json() as { id: string }).id);
      }
      return holders;
    };

    const oldEngine = await start(previous, 'engine-process.ts', 'old-engine');
    const oldWorker = await start(previous, 'upgrade-worker.ts', 'old');
    skein = Skein.init({ natsUrl: nats.url, namespace, logger: testLogger });
    const { sleeper, later, mixed } = declareUpgradeTasks(skein);
    const ticks = async () =>
      (await skein!.runs.list({ name: 'upgrade-tick', status: 'COMPLETED' })).map((r) =>
        Date.parse(String(r.additionalMetadata.skein__cron_tick)),
      );

    // The old release alone: a cron tick, then runs put in flight.
    await vi.waitFor(async () => expect(await ticks()).not.toEqual([]), TICK_WAIT);
    const sleepers = await sleeper.runManyNoWait([0, 1, 2, 3].map((n) => ({ input: { n } })));
    const queued = await later.runManyNoWait([1, 2, 3, 4, 5].map((n) => ({ input: n })));
    const early = await mixed.runManyNoWait([1, 2, 3].map((n) => ({ input: n })));
    await vi.waitFor(
      () => expect(oldWorker.output().match(/^sleeping /gm)).toHaveLength(sleepers.length),
      { timeout: SLEEP_MS / 2, interval: 100 },
    );
    // Each sleeper's wait is stored by the old engine, the only one yet (its turn has no header).
    await vi.waitFor(
      async () => {
        for (const r of sleepers) {
          const types = (await skein!.runs.history(r.runId)).map((e) => e.type);
          expect(types).toContain('TaskSuspended');
        }
      },
      { timeout: SLEEP_MS / 2, interval: 250 },
    );

    // Mixed engines: once both serve partitions, work triggered is shared by old and new.
    const newEngine = await start(repo, 'engine-process.ts', 'new-engine');
    await vi.waitFor(
      async () => expect(await partitionHolders()).toEqual(new Set(['old-engine', 'new-engine'])),
      { timeout: 30_000, interval: 250 },
    );
    const during = await mixed.runManyNoWait([4, 5, 6, 7, 8, 9].map((n) => ({ input: n })));
    expect(await Promise.all(during.map((r) => r.result()))).toEqual([
      1004, 1005, 1006, 1007, 1008, 1009,
    ]);
    const statusOf = async (refs: RunRef<unknown>[]) =>
      Promise.all(refs.map(async (r) => (await skein!.runs.get(r.runId)).status));
    expect(await statusOf(sleepers)).toEqual(sleepers.map(() => 'RUNNING'));
    expect(await statusOf(queued)).toEqual(queued.map(() => 'QUEUED'));

    // The roll: the old engine goes, a new worker comes, the old worker goes.
    await oldEngine.kill('SIGTERM');
    const oldEngineGoneAt = Date.now();
    await start(repo, 'upgrade-worker.ts', 'new');
    await oldWorker.kill('SIGTERM');

    const woke = await Promise.all(sleepers.map((r) => r.result()));
    expect(woke.map(({ n, noted }) => ({ n, noted }))).toEqual(
      [0, 1, 2, 3].map((n) => ({ n, noted: `noted ${n}` })),
    );
    for (const { slept } of woke) expect(slept).toBeGreaterThanOrEqual(SLEEP_MS);
    expect(await Promise.all(queued.map((r) => r.result()))).toEqual([2, 4, 6, 8, 10]);
    expect(await Promise.all(early.map((r) => r.result()))).toEqual([1001, 1002, 1003]);
    await vi.waitFor(async () => {
      expect((await ticks()).some((at) => at > oldEngineGoneAt)).toBe(true);
    }, TICK_WAIT);

    // A sleeper's journal holds both formats: 0.1.0's turns (no header) and this release's.
    const journal = await readSubject(
      await jetstreamManager(nc),
      n.streams.journal,
      n.journalSubject('run', sleepers[0].runId),
    );
    await nc.close();
    expect(new Set(journal.map((m) => formatOf(m.headers)))).toEqual(new Set([0, FORMAT_VERSION]));
    await newEngine.kill('SIGTERM');
  }, 300_000);
});
