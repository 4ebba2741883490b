/**
 * Finding a NATS for the demo and `skein dev`: a URL given (SKEIN_NATS_URL, --nats-url), else
 * a server already listening on 127.0.0.1:4222, else a `nats-server -js` child process on a
 * free port with its store under `.skein/nats`. SKEIN_DEMO_START_NATS=1 (the demo) and
 * `--start-nats` (dev) skip the 4222 probe and always start the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface DemoNats {
  url: string;
  /** How it was found, for the banner. */
  description: string;
  /** Stops the child nats-server, if we started one. */
  stop(): Promise<void>;
}

/** Thrown when a child nats-server is needed and no binary exists. */
export class NatsServerNotFound extends Error {
  constructor() {
    super(
      [
        'No NATS to run against: SKEIN_NATS_URL is not set, nothing listens on 127.0.0.1:4222,',
        'and no nats-server binary was found (looked at $NATS_SERVER_BIN, PATH, /usr/sbin, /usr/local/bin).',
        '',
        'Install one of:',
        '  sudo apt-get install nats-server            # Debian/Ubuntu; the demo and skein dev then start it for you',
        '  docker compose up -d nats1 nats2 nats3      # a 3-node JetStream cluster on 127.0.0.1:4222',
        'or point Skein at a NATS with JetStream:     SKEIN_NATS_URL=nats://host:4222 npm run demo',
      ].join('\n'),
    );
    this.name = 'NatsServerNotFound';
  }
}

const LOCAL_HOST = '127.0.0.1';
const LOCAL_PORT = 4222;
const READY_TIMEOUT_MS = 15_000;

export function findDemoNats(repoRoot: string): Promise<DemoNats> {
  const url = process.env.SKEIN_NATS_URL;
  return findLocalNats({
    given: url ? { url, description: 'from SKEIN_NATS_URL' } : undefined,
    storeDir: join(repoRoot, '.skein', 'nats'),
    forceStart: process.env.SKEIN_DEMO_START_NATS === '1',
  });
}

export interface LocalNatsOptions {
  /** A URL the user gave, and where it came from. */
  given?: { url: string; description: string };
  /** Where a started nats-server keeps its store. */
  storeDir: string;
  /** Start a nats-server even when one answers on 127.0.0.1:4222. */
  forceStart: boolean;
}

export async function findLocalNats(opts: LocalNatsOptions): Promise<DemoNats> {
  if (opts.given) return { ...opts.given, stop: async () => {} };
  if (!opts.forceStart && (await acceptsTcp(LOCAL_HOST, LOCAL_PORT))) {
    return {
      url: `nats://${LOCAL_HOST}:${LOCAL_PORT}`,
      description: `already listening on ${LOCAL_HOST}:${LOCAL_PORT}`,
      stop: async () => {},
    };
  }
  const bin = findNatsServerBinary();
  if (!bin) throw new NatsServerNotFound();
  return startChildNats(bin, opts.storeDir);
}

/** True if something accepts a TCP connection there within `timeoutMs`. */
export function acceptsTcp(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function findNatsServerBinary(): string | undefined {
  const isExecutable = (path: string) => {
    try {
      accessSync(path, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...dirs, '/usr/sbin', '/usr/local/bin']
    .map((d) => join(d, 'nats-server'))
    .find(isExecutable);
}

/** A port on 127.0.0.1 free just now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: LOCAL_HOST, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** True if a server may listen on 127.0.0.1:`port` just now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: LOCAL_HOST, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function startChildNats(bin: string, storeDir: string): Promise<DemoNats> {
  mkdirSync(storeDir, { recursive: true });
  // Another process may grab the free port before nats-server binds it: try a few times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnNats(bin, port, storeDir);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test(String(err))) throw err;
    }
  }
}

function spawnNats(bin: string, port: number, storeDir: string): Promise<DemoNats> {
  const args = ['-a', LOCAL_HOST, '-p', String(port), '-js', '-sd', storeDir];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // If the demo dies without cleaning up, do not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => process.removeListener('exit', killOnExit));

  let output = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const slow = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(slow);
  };

  return new Promise<DemoNats>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`nats-server did not start within ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    // Keep reading its output for its whole life, or a full pipe would block the server.
    let ready = false;
    const onData = (chunk: Buffer) => {
      if (output.length < 64_000) output += chunk.toString();
      if (!ready && /Server is ready/.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolve({
          url: `nats://${LOCAL_HOST}:${port}`,
          description: `started: ${bin} ${args.join(' ')} (pid ${child.pid})`,
          stop,
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${bin}: ${err.message}`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited before it was ready:\n${output}`));
    });
  });
}
