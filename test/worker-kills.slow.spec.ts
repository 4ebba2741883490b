/**
 * A worker SIGKILLed while it holds runs in each place a kill can find them: mid-task (the body
 * is running), mid-durable-wait (a recorded memo, then a sleep) and mid-memo (inside the memo's
 * body, nothing recorded yet). A healthy worker started after the kill finishes every run; the
 * counts hold the promise: no run lost, a body at most once per attempt plus once for the lost
 * worker, no recorded durable call run again (a memo interrupted before it was recorded may run
 * once more: it never happened as far as the run knows).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { declareFaultTasks, WAIT_MS } from './fixtures/fault-tasks.js';
import { startChild, type ChildHandle } from './support/child.js';
import { expectHeld, FaultLedger } from './support/fault-ledger.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
let child: ChildHandle | undefined;
afterEach(async () => {
  await child?.kill();
  await env?.stop();
  env = child = undefined;
});

const EACH = 10;
const items = <T>(make: (i: number) => T) => Array.from({ length: EACH }, (_, i) => make(i));

describe('worker SIGKILLed mid-task, mid-durable-wait and mid-memo', () => {
  it('loses no run, repeats no recorded call, runs each body at most once more', async () => {
    env = await startSkeinEnv();
    const { skein, namespace } = await env.client();
    const ledger = new FaultLedger();
    const here = declareFaultTasks(
      skein,
      (line) => {
        const [what, runId] = line.split(' ');
        if (what === 'exec') ledger.executed(runId!);
        if (what === 'memo') ledger.memoed(runId!);
      },
      false,
    );
    child = await startChild('fault-worker.ts', [env.url, namespace]);
    const lines = () => child!.output().split('\n');
    const seen = (prefix: string) => lines().filter((l) => l.startsWith(prefix)).length;

    const tasks = await here.midTask.runManyNoWait(items((i) => ({ input: i })));
    const waits = await here.midWait.runManyNoWait(items((i) => ({ input: i })));
    const memos = await here.midMemo.runManyNoWait(items((i) => ({ input: i })));
    ledger.trigger(...tasks, ...waits, ...memos);
    await vi.waitFor(
      () => {
        expect(seen('exec ')).toBe(EACH);
        expect(seen('waiting ')).toBe(EACH);
        expect(seen('memo ')).toBe(2 * EACH);
      },
      { timeout: 30_000, interval: 200 },
    );
    await child.kill('SIGKILL');
    const killedAt = Date.now();
    ledger.readLines(child.output());
    for (const ref of memos) ledger.memoInterrupted(ref.runId);

    const healthy = await skein.worker('healthy', {
      workflows: [here.midTask, here.midWait, here.midMemo],
      slots: 50,
    });
    await healthy.start();
    const counts = await ledger.settle(2);
    const recoveredMs = Date.now() - killedAt;
    expectHeld('worker killed', counts, `all done ${recoveredMs} ms after the kill`);
    // The sleeps were not restarted by the kill: each slept once, from its start.
    for (const ref of waits) {
      const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
      expect(types.filter((t) => t === 'RunCompleted')).toHaveLength(1);
    }
    expect(recoveredMs).toBeLessThan(60_000 + WAIT_MS);
  }, 150_000);
});
