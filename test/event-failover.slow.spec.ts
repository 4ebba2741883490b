/**
 * The engine that routes events (the leader) is SIGKILLed while events are being pushed:
 * another engine takes over and every event still starts exactly one run per subscriber,
 * the ones the dead leader had half-routed included.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChild } from './support/child.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const EVENTS = 300;
const SUBSCRIBERS = 3;

describe('event routing across a leader failover', () => {
  it('starts one run per event and subscriber when the routing engine dies mid-stream', async () => {
    const namespace = `evfail${Date.now() % 100000}`;
    // The child engine starts first, so it holds the leader lease and routes the events.
    const leader = await startChild('engine-process.ts', [env.url, namespace]);
    const { skein } = await env.client({ namespace });
    const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) =>
      skein.task({ name: `sub-${i}`, onEvents: ['load:*'], fn: (input: { n: number }) => input.n }),
    );
    await (await skein.worker('w', { workflows: subscribers, slots: 200 })).start();

    const eventIds: string[] = [];
    for (let i = 0; i < EVENTS; i += 20) {
      const items = Array.from({ length: 20 }, (_, j) => ({ payload: { n: i + j } }));
      eventIds.push(...(await skein.events.bulkPush('load:item', items)).eventIds);
      if (i === 100) await leader.kill('SIGKILL');
    }

    const runs = await vi.waitFor(
      async () => {
        const all = await skein.runs.list({ limit: 1000 });
        expect(all.filter((r) => r.status === 'COMPLETED')).toHaveLength(EVENTS * SUBSCRIBERS);
        return all;
      },
      { timeout: 90_000, interval: 1000 },
    );
    expect(runs).toHaveLength(EVENTS * SUBSCRIBERS);
    const byEvent = new Map<string, string[]>();
    for (const r of runs) {
      const id = r.additionalMetadata.skein__event_id;
      byEvent.set(id, [...(byEvent.get(id) ?? []), r.name]);
    }
    expect([...byEvent.keys()].sort()).toEqual([...eventIds].sort());
    for (const names of byEvent.values()) expect(names.sort()).toEqual(['sub-0', 'sub-1', 'sub-2']);
  }, 150_000);
});
