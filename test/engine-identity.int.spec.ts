/**
 * An engine's id names it in its namespace across restarts (runtime/leases.ts): two live
 * engines may not share one, and a bad id is refused before anything starts.
 */
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from 'skein';
import { names } from '../runtime/protocol.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('engine identity', () => {
  it('refuses to start a second live engine with the same id, and the first keeps serving', async () => {
    const { engine, startEngine } = await env.client({ engine: { id: 'twin' } });
    expect(engine.id).toBe('twin');
    await expect(startEngine({ id: 'twin' })).rejects.toThrow(
      /an engine with id 'twin' is already running/,
    );
    expect(engine.partitions()).toHaveLength(8);
    expect(engine.isLeader()).toBe(true);
  });

  it('stops serving when another instance of its id takes its place', async () => {
    // As when a second process with this id found this one cut off and took over: this one
    // must not go on leading beside it.
    const { engine, namespace } = await env.client({ engine: { id: 'replaced' } });
    expect(engine.isLeader()).toBe(true);
    const nc = await connect({ servers: env.url });
    try {
      const kv = await new Kvm(nc).open(names(namespace).buckets.leases);
      await kv.put('e.replaced', JSON.stringify({ id: 'replaced', instance: 'another' }));
      await vi.waitFor(
        () => {
          expect(engine.isLeader()).toBe(false);
          expect(engine.partitions()).toEqual([]);
        },
        { timeout: 15_000, interval: 100 },
      );
    } finally {
      await nc.close();
    }
  });

  it('gives engines started without an id distinct ones', async () => {
    const { engine, startEngine } = await env.client();
    const other = await startEngine();
    expect(other.id).not.toBe(engine.id);
    expect(engine.id).toMatch(/^engine-/);
  });

  it('refuses an id that cannot name an engine', async () => {
    const { startEngine } = await env.client();
    const refused = startEngine({ id: 'two words' });
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toThrow(/engine id 'two words' is invalid/);
  });
});
