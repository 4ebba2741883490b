/**
 * The parts of the test NATS servers shared by single servers, the Docker fallback and
 * clusters: ports, process bookkeeping and reaping, the native server process, readiness.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';

export interface NatsServerHandle {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** JetStream store dir (a fresh temp dir, removed by stop()). */
  storeDir: string;
  /** Send a signal (default SIGKILL); resolves once the process has exited. No-op if not running. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Start again on the SAME port and SAME store dir (kills first if still running); resolves
   * once it accepts TCP and JetStream answers.
   */
  restart(): Promise<void>;
  /** Kill and remove the store dir. Idempotent. */
  stop(): Promise<void>;
  /** Last ~400 lines of server output (for debugging failed tests). */
  logs(): string;
}

export interface StartNatsServerOptions {
  /** Written to a config file as `max_payload: N` (nats-server 2.9 has no CLI flag for it). */
  maxPayload?: number;
  /** Extra nats-server CLI arguments, appended last. */
  args?: string[];
  /** Appended to the config file (authorization, accounts, tls…; not jetstream: -js -sd stay). */
  config?: string;
  /** How the readiness probe connects when `config` requires credentials or TLS. */
  probe?: Partial<ConnectionOptions>;
}

export interface NatsClusterHandle {
  urls: string[];
  servers: NatsServerHandle[];
  /** Each server's monitoring endpoint (http://127.0.0.1:PORT), e.g. for /connz. */
  monitorUrls: string[];
  /** Stops every server and removes their store dirs. Idempotent. */
  stop(): Promise<void>;
}

export const READY_TIMEOUT_MS = 15_000;
export const LOG_LINES = 400;

// ---------------------------------------------------------------------------------------------
// process bookkeeping

const live = new Set<ChildProcess>();
/** Store dirs whose stop() has not run yet. */
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** Synchronous last resort: SIGKILL every live server, then remove leftover store dirs. */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    live.clear();
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
    tempDirs.clear();
  });
}

export function trackTempDir(dir: string): void {
  installExitHook();
  tempDirs.add(dir);
}

/**
 * Detached watchdog: once `ownerPid` (this Node process) is gone, SIGKILLs `serverPid` and
 * removes its store dir. Exits on its own as soon as the server is gone. Covers the cases
 * where the 'exit' hook never runs (SIGKILL/SIGTERM of the test worker).
 */
function spawnWatchdog(serverPid: number, storeDir: string): void {
  const script =
    'while kill -0 "$1" 2>/dev/null; do ' +
    'if ! kill -0 "$2" 2>/dev/null; then kill -9 "$1" 2>/dev/null; sleep 1; rm -rf "$3"; exit 0; fi; ' +
    'sleep 1; done';
  try {
    const w = spawn(
      'sh',
      ['-c', script, 'skein-nats-watchdog', String(serverPid), String(process.pid), storeDir],
      { detached: true, stdio: 'ignore' },
    );
    w.on('error', () => {});
    w.unref();
  } catch {
    // best effort: the exit hook still covers the normal case
  }
}

// ---------------------------------------------------------------------------------------------
// small utilities

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Bind port 0 on loopback, read the port, close. */
export async function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** One attempt: connect, ask JetStream for account info, close. Throws on failure. */
async function probeJetStream(url: string, opts: Partial<ConnectionOptions> = {}): Promise<void> {
  const nc = await connect({
    ...opts,
    servers: url,
    reconnect: false,
    timeout: 1_000,
    name: 'skein-test-probe',
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
    await jsm.getAccountInfo();
  } finally {
    await nc.close().catch(() => {});
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $NATS_SERVER_BIN, PATH, /usr/sbin, /usr/local/bin. */
export function findNatsServerBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/sbin', '/usr/local/bin']) {
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function dockerAvailable(): boolean {
  try {
    const r = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return r.status === 0;
  } catch {
    return false;
  }
}

export function missingServerError(): Error {
  return new Error(
    'No nats-server binary found (looked at $NATS_SERVER_BIN, PATH, /usr/sbin/nats-server, ' +
      '/usr/local/bin/nats-server) and no Docker engine answered `docker info`. ' +
      'Install nats-server (`apt-get install nats-server`) or run Docker.',
  );
}

export class LogBuffer {
  private lines: string[] = [];
  private partial = '';
  private readonly mirror = process.env.SKEIN_NATS_LOG === '1';
  private waiters: { re: RegExp; resolve: () => void }[] = [];

  constructor(private readonly tag: string) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.addLine(line);
  }

  private addLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LOG_LINES) this.lines.shift();
    if (this.mirror) process.stderr.write(`[${this.tag}] ${line}\n`);
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when a line matching `re` arrives after this call. */
  waitFor(re: RegExp): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }

  /** The last `n` lines (default: all kept lines). */
  text(n = LOG_LINES): string {
    return [...this.lines, this.partial].filter(Boolean).slice(-n).join('\n');
  }

  mark(note: string): void {
    this.addLine(`----- ${note} -----`);
  }
}

// ---------------------------------------------------------------------------------------------
// native nats-server process

export interface ProcessSpec {
  bin: string;
  port: number;
  storeDir: string;
  /** Everything after the binary. */
  args: string[];
  tag: string;
}

export class NativeServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly log: LogBuffer;

  constructor(private spec: ProcessSpec) {
    this.log = new LogBuffer(spec.tag);
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawn the process and wait for "Server is ready". Rejects (with logs) on early exit/timeout. */
  async spawn(timeoutMs: number): Promise<void> {
    if (this.stopped) throw new Error(`${this.spec.tag}: already stopped`);
    if (this.child) throw new Error(`${this.spec.tag}: already running`);
    installExitHook();
    this.log.mark(`spawn ${this.spec.bin} ${this.spec.args.join(' ')}`);
    const child = spawn(this.spec.bin, this.spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    child.stdout?.on('data', (d: Buffer) => this.log.push(d));
    child.stderr?.on('data', (d: Buffer) => this.log.push(d));

    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
        if (exitInfo !== undefined) return;
        exitInfo = `code=${code} signal=${signal}`;
        live.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('exit', onGone);
      child.once('error', (err) => {
        this.log.mark(`spawn error: ${err.message}`);
        onGone(null, null);
      });
    });
    if (child.pid !== undefined) spawnWatchdog(child.pid, this.spec.storeDir);

    const ready = this.log.waitFor(/Server is ready/);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      this.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'ready') {
      // A forgotten server must not keep the test process alive: unref the child and its
      // pipes; the exit hook / watchdog reap it. kill() re-refs while it waits for the exit.
      child.unref();
      for (const s of [child.stdout, child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
      return;
    }
    if (outcome === 'timeout') await this.kill('SIGKILL');
    throw new Error(
      `${this.spec.tag}: nats-server ${outcome === 'timeout' ? `not ready within ${timeoutMs} ms` : `exited before ready (${exitInfo})`}` +
        `\n--- server output ---\n${this.log.text()}`,
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    try {
      child.kill(signal);
    } catch {
      // raced with exit
    }
    await this.exited;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.kill('SIGKILL');
  }
}

/** Wait until the server answers JetStream account info (meta leader elected in a cluster). */
export async function waitJetStreamReady(
  url: string,
  deadline: number,
  logs: () => string,
  alive: () => boolean,
  probe?: Partial<ConnectionOptions>,
): Promise<void> {
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (!alive()) break;
    try {
      await probeJetStream(url, probe);
      return;
    } catch (err) {
      lastErr = err;
      await sleep(100);
    }
  }
  const why = alive() ? `JetStream not ready at ${url}` : `server at ${url} exited`;
  throw new Error(
    `${why}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}\n--- server output ---\n${logs()}`,
  );
}

export function makeNativeHandle(
  server: NativeServer,
  port: number,
  storeDir: string,
  timeoutMs: number,
  probe?: Partial<ConnectionOptions>,
): NatsServerHandle {
  const url = `nats://127.0.0.1:${port}`;
  let stopPromise: Promise<void> | undefined;
  return {
    url,
    port,
    storeDir,
    logs: () => server.log.text(),
    kill: (signal?: NodeJS.Signals) => server.kill(signal ?? 'SIGKILL'),
    async restart() {
      if (stopPromise) throw new Error(`${url}: restart() after stop()`);
      await server.kill('SIGKILL');
      const deadline = Date.now() + timeoutMs;
      // The port is free again the moment the old process is gone (the listener is closed by
      // the kernel; Go sets SO_REUSEADDR). The only way to lose it is another test's free-port
      // probe grabbing it in between, which is transient: retry a few times on EADDRINUSE.
      for (let attempt = 0; ; attempt++) {
        try {
          await server.spawn(Math.max(1_000, deadline - Date.now()));
          break;
        } catch (err) {
          if (attempt >= 10 || !/address already in use/i.test(server.log.text(20))) throw err;
          await sleep(250);
        }
      }
      await waitJetStreamReady(
        url,
        deadline,
        () => server.log.text(),
        () => server.running,
        probe,
      );
    },
    stop() {
      stopPromise ??= (async () => {
        await server.stop();
        await rm(storeDir, { recursive: true, force: true, maxRetries: 3 });
        tempDirs.delete(storeDir);
      })();
      return stopPromise;
    },
  };
}

export async function startNative(
  bin: string,
  opts: StartNatsServerOptions,
): Promise<NatsServerHandle> {
  const storeDir = await mkdtemp(join(tmpdir(), 'skein-nats-'));
  trackTempDir(storeDir);
  const extra: string[] = [];
  if (opts.maxPayload !== undefined || opts.config !== undefined) {
    const conf = join(storeDir, 'nats.conf');
    // JetStream/store dir stay on the command line (nats-server 2.9 rejects a
    // `jetstream { store_dir }` block combined with -sd as a "Duplicate 'store_dir' configuration").
    const maxPayload =
      opts.maxPayload === undefined ? '' : `max_payload: ${Math.floor(opts.maxPayload)}\n`;
    await writeFile(conf, maxPayload + (opts.config ?? ''));
    extra.push('-c', conf);
  }
  extra.push(...(opts.args ?? []));

  // The free-port probe races with other workers; retry on "address already in use".
  let lastErr: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await getFreePort();
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...extra];
    const server = new NativeServer({ bin, port, storeDir, args, tag: `nats:${port}` });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    try {
      await server.spawn(READY_TIMEOUT_MS);
      await waitJetStreamReady(
        `nats://127.0.0.1:${port}`,
        deadline,
        () => server.log.text(),
        () => server.running,
        opts.probe,
      );
      return makeNativeHandle(server, port, storeDir, READY_TIMEOUT_MS, opts.probe);
    } catch (err) {
      await server.stop();
      lastErr = err;
      if (!/address already in use/i.test(server.log.text())) break;
    }
  }
  await rm(storeDir, { recursive: true, force: true });
  tempDirs.delete(storeDir);
  throw lastErr;
}

// ---------------------------------------------------------------------------------------------
// Docker fallback (testcontainers, optional)
//
// Restart semantics with Docker: the container publishes 4222 on a FIXED host port (picked the
// same way as for the native server) and the store dir is a bind-mounted host temp dir, so
// kill() = `docker kill -s SIGNAL` (container kept), restart() = `docker start` of the same
// container -> same port, same data. Leftover containers are removed by testcontainers' Ryuk
// reaper when the test process dies (the synchronous exit hook cannot reach Docker).
// startNatsCluster() is not supported on the Docker fallback.
