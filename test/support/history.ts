/** Waiting on what a run's history records. */
import { expect } from 'vitest';
import type { Skein } from 'skein';

/**
 * Polls run `runId`'s history until it holds an event of `type` (or exactly `count` of them),
 * failing like expect.poll after `timeout` ms (expect.poll's default, set in vitest.config.ts,
 * when not given).
 */
export async function waitForHistory(
  skein: Skein,
  runId: string,
  type: string,
  opts: { count?: number; timeout?: number } = {},
) {
  const seen = async () => (await skein.runs.history(runId)).filter((e) => e.type === type).length;
  const poll = { timeout: opts.timeout };
  if (opts.count === undefined) await expect.poll(async () => (await seen()) > 0, poll).toBe(true);
  else await expect.poll(seen, poll).toBe(opts.count);
}

/**
 * One line telling run `runId`'s story for a failing fault test: each event's type, its time
 * in ms after `t0` (default: the first event) and the worker, key or reason it names.
 */
export async function describeRun(skein: Skein, runId: string, t0?: number): Promise<string> {
  const history = await skein.runs.history(runId);
  const from = t0 ?? history[0]?.at.getTime() ?? 0;
  const events = history.map((e) => {
    const d = e.data as { workerId?: string; key?: string; reason?: string };
    const who = [d.workerId, d.key, d.reason].filter(Boolean).join(',');
    return `${e.type}@${e.at.getTime() - from}${who ? `(${who})` : ''}`;
  });
  return `${runId}: ${events.join(' ')}`;
}
