/** `skein dev`: starts its own nats-server and an engine, prints the URL, and Ctrl-C stops it all. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnCli } from './support/cli.js';
import { getFreePort } from './support/nats-process.js';

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'skein-dev-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('skein dev', () => {
  it('prints a URL whose /healthz answers; SIGINT stops it and the nats-server it started', async () => {
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.SKEIN_NATS_URL;
    // --http-port, as `skein engine` spells it (--port says the same).
    const port = await getFreePort();
    const dev = spawnCli(
      ['dev', '--start-nats', '--namespace', 'devtest', '--http-port', String(port)],
      env,
      cwd,
    );
    const url = await vi.waitFor(
      () => {
        const found = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(dev.stdout())?.[1];
        expect(found, dev.stderr()).toBeDefined();
        return found!;
      },
      { timeout: 90_000, interval: 200 },
    );
    expect(url).toBe(`http://127.0.0.1:${port}/`);
    expect(dev.stdout()).toMatch(/^ {2}namespace\s+devtest$/m);
    const natsPid = Number(/started: \S*nats-server .*\(pid (\d+)\)/.exec(dev.stdout())?.[1]);
    expect(alive(natsPid)).toBe(true);

    const health = await fetch(new URL('healthz', url));
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');

    dev.process.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.stdout()).toContain('stopped the engine and nats-server');
    expect(alive(natsPid)).toBe(false);
    await expect(fetch(new URL('healthz', url))).rejects.toThrow();
  }, 180_000);
});
