/**
 * Two engines that both believe they own an actor (a lease handover, a paused process) can
 * never both write it: appends carry the expected last sequence, the loser reloads and
 * finds the message handled. Checked here with two actor hosts racing on one journal.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorDefinition } from '../actors/actor.js';
import { ActorHost } from '../runtime/actor-host.js';
import { systemClock } from '../runtime/clock.js';
import { EffectRunner } from '../runtime/effects.js';
import { Journal } from '../runtime/journal.js';
import { names } from '../runtime/protocol.js';
import { Requester } from '../runtime/requester.js';
import { ensureStreams } from '../runtime/setup.js';
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';
import { testLogger } from './support/skein-env.js';

type Msg = { id: string; type: 'Add'; amount: number };
type Ev = { type: 'Added'; amount: number; by: string };

/** A counter whose events say which host decided them. */
const counter = (by: string): ActorDefinition<{ total: number }, Msg, Ev> => ({
  type: 'counter',
  initial: () => ({ total: 0 }),
  decide: (_s, m) => ({ events: [{ type: 'Added', amount: m.amount, by }], effects: [] }),
  evolve: (s, e) => ({ total: s.total + e.amount }),
});

let server: NatsServerHandle;
const conns: NatsConnection[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  for (const nc of conns) await nc.close();
  await server.stop();
});

async function host(by: string) {
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  conns.push(nc);
  const n = names('cas');
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, n);
  const requester = new Requester(nc);
  const journal = new Journal(requester, jsm, n);
  const h = new ActorHost(counter(by), {
    journal,
    effects: new EffectRunner(nc, requester, n),
    clock: systemClock,
    logger: testLogger,
  });
  return { host: h, journal, js: jetstream(nc) };
}

describe('two hosts writing one actor', () => {
  it('store every message exactly once, whoever wins each race', async () => {
    const a = await host('a');
    const b = await host('b');
    const messages: Msg[] = Array.from({ length: 60 }, (_, i) => ({
      id: `m${i}`,
      type: 'Add',
      amount: i + 1,
    }));
    // Both hosts get every message, in opposite orders, all at once.
    await Promise.all([
      ...messages.map((m) => a.host.handle('c1', m)),
      ...[...messages].reverse().map((m) => b.host.handle('c1', m)),
    ]);
    const entries = await a.journal.read('counter', 'c1');
    const ids = entries.map((e) => e.entry.m);
    expect(new Set(ids).size).toBe(messages.length);
    expect(ids).toHaveLength(messages.length);
    const expectedTotal = messages.reduce((sum, m) => sum + m.amount, 0);
    expect((await a.host.read('c1')).state.total).toBe(expectedTotal);
    expect((await b.host.read('c1')).state.total).toBe(expectedTotal);
  });
});
