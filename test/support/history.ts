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
