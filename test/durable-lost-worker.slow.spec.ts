/**
 * A worker SIGKILLed in the middle of a durable task: the task resumes on another worker by
 * replay, and no recorded call is repeated (the memo'd charge and the child run happen once).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { declareDurableTasks, SLEEP_MS } from './fixtures/durable-tasks.js';
import { startChild, type ChildHandle } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv | undefined;
let child: ChildHandle | undefined;
afterEach(async () => {
  await child?.kill();
  await env?.stop();
  env = child = undefined;
});

const count = (lines: string[], text: string) => lines.filter((l) => l.includes(text)).length;

async function setUp() {
  env = await startSkeinEnv();
  const { skein, namespace } = await env.client();
  const here: string[] = [];
  const tasks = declareDurableTasks(skein, (line) => here.push(line));
  // The child task runs here, so the test sees every run of it.
  const childWorker = await skein.worker('child-worker', { workflows: [tasks.crashChild] });
  await childWorker.start();
  child = await startChild('durable-worker.ts', [env.url, namespace]);
  const there = () => child!.output().split('\n');
  return { skein, here, there, tasks };
}

describe('a durable task whose worker is SIGKILLed', () => {
  it('killed while running: resumes on another worker; the memo and the child run are not repeated', async () => {
    const { skein, here, there, tasks } = await setUp();
    const ref = await tasks.blocker.runNoWait({});
    await vi.waitFor(() => expect(there()).toContain(`blocking ${ref.runId}`), { timeout: 15_000 });
    await child!.kill('SIGKILL');

    const healthy = await skein.worker('healthy', { workflows: [tasks.blocker] });
    await healthy.start();
    const out = await ref.result();
    expect(out).toEqual({
      receipt: `receipt-for-${ref.runId}`,
      child: { child: 'done' },
      by: healthy.id,
    });
    expect(count(there(), `charged ${ref.runId}`)).toBe(1);
    expect(count(here, `charged ${ref.runId}`)).toBe(0);
    expect(count(here, `child ran for ${ref.runId}`)).toBe(1);
    expect(count(here, `blocking ${ref.runId}`)).toBe(1); // the replay ran the code after the calls
    // A line written before a recorded call is not stored again by the replay.
    const logs = (await skein.runs.logs(ref.runId)).map((l) => l.message);
    expect(logs.filter((m) => m === 'charging')).toHaveLength(1);
  }, 60_000);

  it('killed while sleeping: the sleep keeps its deadline and ends on another worker', async () => {
    const { skein, here, there, tasks } = await setUp();
    const ref = await tasks.sleeper.runNoWait({});
    // The sleep's wait, not the child run's before it: killed during that one, the worker would
    // be lost (10 s) before the sleep even began, and the sleep end 22 s after the child's wait.
    const sleepWait = async () =>
      (await skein.runs.history(ref.runId)).find(
        (e) => e.type === 'DurableWaitStarted' && e.data.kind === 'sleep',
      );
    await vi.waitFor(async () => expect(await sleepWait()).toBeDefined(), { timeout: 15_000 });
    const sleepStartedAt = (await sleepWait())!.at;
    await child!.kill('SIGKILL');

    const healthy = await skein.worker('healthy', { workflows: [tasks.sleeper] });
    await healthy.start();
    const out = await ref.result();
    const endedAt = (await skein.runs.get(ref.runId)).finishedAt!.getTime();
    expect(out.by).toBe(healthy.id);
    // Slept once, from its start: not restarted by the crash.
    expect(out.slept).toBeGreaterThanOrEqual(SLEEP_MS);
    expect(out.slept).toBeLessThan(SLEEP_MS + 1_000);
    expect(endedAt - new Date(sleepStartedAt).getTime()).toBeLessThan(SLEEP_MS + 5_000);
    expect(count(there(), `charged ${ref.runId}`)).toBe(1);
    expect(count(here, `charged ${ref.runId}`)).toBe(0);
    expect(count(here, `child ran for ${ref.runId}`)).toBe(1);
    expect((await skein.runs.logs(ref.runId)).map((l) => l.message)).toEqual([
      'charging',
      'sleeping',
    ]);
  }, 60_000);
});
