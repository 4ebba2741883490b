/**
 * What the SDK, the engine and the CLI say when NATS cannot serve Skein: a server without
 * JetStream, and no server at all.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, Skein } from 'skein';
import { startEngine } from 'skein/runtime';
import {
  findNatsServerBinary,
  getFreePort,
  NativeServer,
  READY_TIMEOUT_MS,
} from './support/nats-process.js';
import { testLogger } from './support/skein-env.js';

const bin = fileURLToPath(new URL('../bin/skein.js', import.meta.url));

/** A nats-server started without -js. */
let plain: { server: NativeServer; url: string; dir: string };
/** A port nothing listens on. */
let closedUrl: string;

beforeAll(async () => {
  const natsBin = findNatsServerBinary();
  if (!natsBin) throw new Error('these tests need the nats-server binary');
  const port = await getFreePort();
  const dir = await mkdtemp(join(tmpdir(), 'skein-nats-'));
  const server = new NativeServer({
    bin: natsBin,
    port,
    storeDir: dir,
    args: ['-a', '127.0.0.1', '-p', String(port)],
    tag: `nats-no-js:${port}`,
  });
  await server.spawn(READY_TIMEOUT_MS);
  plain = { server, url: `nats://127.0.0.1:${port}`, dir };
  closedUrl = `nats://127.0.0.1:${await getFreePort()}`;
});
afterAll(async () => {
  await plain?.server.stop();
  if (plain) await rm(plain.dir, { recursive: true, force: true });
});

async function skeinCli(natsUrl: string, args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, SKEIN_NATS_URL: natsUrl, SKEIN_NAMESPACE: 'errs' },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; killed: boolean; stdout: string; stderr: string };
    return { code: e.killed ? 'killed' : e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('a NATS server without JetStream', () => {
  it('the SDK says JetStream is not enabled there, not that an engine is missing', async () => {
    const skein = Skein.init({ natsUrl: plain.url, logger: testLogger });
    try {
      const push = skein.events.push('k', {});
      await expect(push).rejects.toBeInstanceOf(ConnectionError);
      await expect(push).rejects.toThrow(/JetStream is not enabled on the NATS server at .*-js/);
      await expect(push).rejects.not.toThrow(/engine/);
      await expect(skein.runs.get('r')).rejects.toThrow(/JetStream is not enabled/);
    } finally {
      await skein.close();
    }
  });

  it('startEngine rejects with ConnectionError saying so', async () => {
    const engine = startEngine({ natsUrl: plain.url, namespace: 'errs', logger: testLogger });
    await expect(engine).rejects.toBeInstanceOf(ConnectionError);
    await expect(engine).rejects.toThrow(/JetStream is not enabled on the NATS server at .*-js/);
  });

  it('skein engine prints that once and exits 1', async () => {
    const out = await skeinCli(plain.url, ['engine']);
    expect(out.code).toBe(1);
    expect(occurrences(out.stderr, 'JetStream is not enabled')).toBe(1);
    expect(out.stderr).toMatch(/-js/);
  }, 90_000);
});

describe('no NATS server at the address', () => {
  it('startEngine rejects with ConnectionError naming the address', async () => {
    const engine = startEngine({ natsUrl: closedUrl, namespace: 'errs', logger: testLogger });
    await expect(engine).rejects.toBeInstanceOf(ConnectionError);
    await expect(engine).rejects.toThrow(`cannot connect to NATS at ${closedUrl}`);
  });

  it('skein engine prints the reason once and exits 1', async () => {
    const out = await skeinCli(closedUrl, ['engine']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`cannot connect to NATS at ${closedUrl}`);
    expect(occurrences(out.stderr, 'connection refused')).toBe(1);
  }, 90_000);
});
