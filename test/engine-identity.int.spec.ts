/**
 * An engine's id names it in its namespace across restarts (runtime/leases.ts): two live
 * engines may not share one, and a bad id is refused before anything starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('gives engines started without an id distinct ones', async () => {
    const { engine, startEngine } = await env.client();
    const other = await startEngine();
    expect(other.id).not.toBe(engine.id);
    expect(engine.id).toMatch(/^engine-/);
  });

  it('refuses an id that cannot name an engine', async () => {
    const { startEngine } = await env.client();
    await expect(startEngine({ id: 'two words' })).rejects.toThrow(
      /engine id 'two words' is invalid/,
    );
  });
});
