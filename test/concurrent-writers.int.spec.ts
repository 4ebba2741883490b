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

type GateMsg = { id: string; type: 'Create' | 'Arm' | 'Open' };
type GateEv = { type: 'Created' | 'Armed' | 'Opened' };

/** Opens only once armed: on stale state an Open decides to do nothing. */
const gate: ActorDefinition<{ armed: boolean }, GateMsg, GateEv> = {
  type: 'gate',
  initial: () => ({ armed: false }),
  decide: (s, m) => {
    if (m.type === 'Create') return { events: [{ type: 'Created' }], effects: [] };
    if (m.type === 'Arm') return { events: [{ type: 'Armed' }], effects: [] };
    return s.armed ? { events: [{ type: 'Opened' }], effects: [] } : { events: [], effects: [] };
  },
  evolve: (s, e) => (e.type === 'Armed' ? { armed: true } : s),
};

async function host(by: string) {
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  conns.push(nc);
  const n = names('cas');
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, n);
  const requester = new Requester(nc);
  const journal = new Journal(requester, jsm, n, testLogger);
  const options = {
    journal,
    effects: new EffectRunner(nc, requester, n),
    clock: systemClock,
    logger: testLogger,
  };
  const h = new ActorHost(counter(by), options);
  return { host: h, gates: new ActorHost(gate, options), journal, js: jetstream(nc) };
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

describe('a host primed with an entry that is no longer the last', () => {
  it('decides on what the journal holds when the primed state would do nothing', async () => {
    const a = await host('a');
    const b = await host('b');
    await b.gates.handle('g1', { id: 'create', type: 'Create' });
    await b.gates.handle('g1', { id: 'arm', type: 'Arm' });
    const [first] = await a.journal.read('gate', 'g1');
    // As a scheduler re-reading a run's creation late would: the host believes nothing followed it.
    a.gates.prime('g1', first.seq, first.entry);
    await a.gates.handle('g1', { id: 'open', type: 'Open' });
    const types = (await a.journal.read('gate', 'g1')).flatMap((e) =>
      (e.entry.ev as GateEv[]).map((ev) => ev.type),
    );
    expect(types).toEqual(['Created', 'Armed', 'Opened']);
  });
});

describe('a host that kept an actor in memory while another host served it', () => {
  // A partition moved away and back (an engine cut off from NATS, then rejoining): the wake-up
  // of a durable sleep the other engine started must not be dropped on the old memory.
  it('decides on what the journal holds when its memory would do nothing', async () => {
    const a = await host('a');
    const b = await host('b');
    await a.gates.handle('g2', { id: 'create', type: 'Create' });
    await b.gates.handle('g2', { id: 'arm', type: 'Arm' });
    await a.gates.handle('g2', { id: 'open', type: 'Open' });
    const types = (await a.journal.read('gate', 'g2')).flatMap((e) =>
      (e.entry.ev as GateEv[]).map((ev) => ev.type),
    );
    expect(types).toEqual(['Created', 'Armed', 'Opened']);
  });
});
