/** `skein events push <key> <json>`: stores the event and triggers its subscribers. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

const bin = fileURLToPath(new URL('../bin/skein.js', import.meta.url));

async function skeinCli(namespace: string, args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, SKEIN_NATS_URL: env.url, SKEIN_NAMESPACE: namespace },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('skein events push', () => {
  it('pushes an event that triggers the subscribed task, and prints its id', async () => {
    const { skein, namespace } = await env.client();
    const onCreated = skein.task({
      name: 'on-created',
      onEvents: ['order:created'],
      fn: (input: { orderId: number }, ctx) => ({
        id: input.orderId,
        meta: ctx.additionalMetadata,
      }),
    });
    await (await skein.worker('w', { workflows: [onCreated] })).start();
    const out = await skeinCli(namespace, [
      'events',
      'push',
      'order:created',
      '{"orderId": 7}',
      '--metadata',
      'source=cli',
    ]);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const { eventId } = JSON.parse(out.stdout) as { eventId: string };
    const run = await vi.waitFor(
      async () => {
        const [r] = await skein.runs.list({ additionalMetadata: { skein__event_id: eventId } });
        expect(r?.status).toBe('COMPLETED');
        return r;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(run.output).toEqual({
      id: 7,
      meta: { source: 'cli', skein__event_id: eventId, skein__event_key: 'order:created' },
    });
  });

  it('refuses a payload that is not JSON, and a missing key, with a clear message', async () => {
    const { namespace } = await env.client();
    const bad = await skeinCli(namespace, ['events', 'push', 'k', '{oops']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the payload is not JSON/);
    const missing = await skeinCli(namespace, ['events', 'push', 'k']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/takes a key and a JSON payload/);
    const empty = await skeinCli(namespace, ['events', 'push', ' ', '{}']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/event key must be a non-empty string/);
  });
});
