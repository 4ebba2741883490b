/** The Docker fallback for a single test NATS server (when no nats-server binary exists). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getFreePort,
  LOG_LINES,
  READY_TIMEOUT_MS,
  sleep,
  waitJetStreamReady,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from './nats-process.js';

const DOCKER_IMAGE = 'nats:2.10-alpine';

interface DockerodeLike {
  kill(opts: { signal: string }): Promise<unknown>;
  start(): Promise<unknown>;
  wait(): Promise<unknown>;
  inspect(): Promise<{ State: { Running: boolean } }>;
}

export async function startDocker(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
  } catch (err) {
    throw new Error(
      `No nats-server binary found and the Docker fallback needs the 'testcontainers' package ` +
        `(npm i -D testcontainers): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const storeDir = await mkdtemp(join(tmpdir(), 'skein-nats-'));
  const port = await getFreePort();
  const url = `nats://127.0.0.1:${port}`;
  const command = ['-js', '-sd', '/data'];
  if (opts.maxPayload !== undefined) {
    await writeFile(join(storeDir, 'nats.conf'), `max_payload: ${Math.floor(opts.maxPayload)}\n`);
    command.push('-c', '/data/nats.conf');
  }
  command.push(...(opts.args ?? []));

  let started: import('testcontainers').StartedTestContainer;
  try {
    started = await new tc.GenericContainer(DOCKER_IMAGE)
      .withCommand(command)
      .withExposedPorts({ container: 4222, host: port })
      .withBindMounts([{ source: storeDir, target: '/data', mode: 'rw' }])
      .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
      .withStartupTimeout(60_000)
      .start();
  } catch (err) {
    await rm(storeDir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  const runtime = await tc.getContainerRuntimeClient();
  const container = runtime.container.getById(started.getId()) as unknown as DockerodeLike;
  const dockerLogs = async (): Promise<string> => {
    try {
      const stream = await started.logs();
      const chunks: string[] = [];
      stream.on('data', (c: Buffer | string) => chunks.push(c.toString()));
      await sleep(200);
      stream.destroy?.();
      return chunks.join('').split('\n').slice(-LOG_LINES).join('\n');
    } catch {
      return '(container logs unavailable)';
    }
  };
  let cachedLogs = '';
  const isRunning = async () => (await container.inspect()).State.Running;

  const ready = () =>
    waitJetStreamReady(
      url,
      Date.now() + READY_TIMEOUT_MS,
      () => cachedLogs,
      () => true,
    );

  await ready().catch(async (err) => {
    cachedLogs = await dockerLogs();
    await started.stop({ remove: true, timeout: 0 }).catch(() => {});
    throw err;
  });

  let stopPromise: Promise<void> | undefined;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (!(await isRunning())) return;
    await container.kill({ signal }).catch(() => {});
    await container.wait().catch(() => {});
  };
  return {
    url,
    port,
    storeDir,
    logs: () => cachedLogs,
    kill,
    async restart() {
      if (stopPromise) throw new Error(`${url}: restart() after stop()`);
      await kill('SIGKILL');
      await container.start();
      await ready().catch(async (err) => {
        cachedLogs = await dockerLogs();
        throw err;
      });
    },
    stop() {
      stopPromise ??= (async () => {
        await started.stop({ remove: true, timeout: 0 }).catch(() => {});
        // Files written by the container may be root-owned; best effort.
        await rm(storeDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
      })();
      return stopPromise;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// public API
