/**
 * NATS credentials through every entry point: the SDK (`Skein.init({ nats })`), the engine
 * (`startEngine({ nats })`) and the CLI (`skein engine` and `skein events push`, by flags and
 * by SKEIN_NATS_* variables), against a server that requires them: user and password, a
 * token, an NKey, a creds file (operator mode, JWTs made here), TLS with a CA and a client
 * certificate.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, Skein, ValidationError, type NatsOptions } from 'skein';
import { startEngine } from 'skein/runtime';
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';
import {
  CredentialsDir,
  nkeyUser,
  operatorMode,
  tlsFiles,
  tokenConfig,
  usersConfig,
} from './support/nats-credentials.js';
import { testLogger } from './support/skein-env.js';

const bin = fileURLToPath(new URL('../bin/skein.js', import.meta.url));

interface Mode {
  name: string;
  config: string;
  nats: NatsOptions;
  /** The same credentials as CLI flags, and as SKEIN_NATS_* variables. */
  flags: string[];
  env: Record<string, string>;
  /** How the readiness probe of the test server gets in. */
  probe: Record<string, unknown>;
}

const dir = new CredentialsDir();
afterAll(() => dir.remove());

async function modes(): Promise<Mode[]> {
  const nkey = nkeyUser();
  const seedFile = dir.write('user.nk', nkey.seed);
  const op = await operatorMode();
  const credsText = await op.creds('skein');
  const credsFile = dir.write('user.creds', credsText);
  const tls = tlsFiles(dir);
  const { credsAuthenticator, nkeyAuthenticator } = await import('@nats-io/nats-core');
  return [
    {
      name: 'user and password',
      config: usersConfig([{ user: 'skein', password: 'pw-1' }]),
      nats: { user: 'skein', pass: 'pw-1' },
      flags: ['--nats-user', 'skein', '--nats-pass', 'pw-1'],
      env: { SKEIN_NATS_USER: 'skein', SKEIN_NATS_PASS: 'pw-1' },
      probe: { user: 'skein', pass: 'pw-1' },
    },
    {
      name: 'a token',
      config: tokenConfig('tok-1'),
      nats: { token: 'tok-1' },
      flags: ['--nats-token', 'tok-1'],
      env: { SKEIN_NATS_TOKEN: 'tok-1' },
      probe: { token: 'tok-1' },
    },
    {
      name: 'an NKey',
      config: nkey.config,
      nats: { nkeySeed: nkey.seed },
      flags: ['--nats-nkey', seedFile],
      env: { SKEIN_NATS_NKEY: seedFile },
      probe: { authenticator: nkeyAuthenticator(new TextEncoder().encode(nkey.seed)) },
    },
    {
      name: 'a creds file',
      config: op.config,
      nats: { credsFile },
      flags: ['--nats-creds', credsFile],
      env: { SKEIN_NATS_CREDS: credsFile },
      probe: { authenticator: credsAuthenticator(credsText) },
    },
    {
      name: 'TLS with a CA and a client certificate',
      config: tls.config,
      nats: { tls: { caFile: tls.ca, certFile: tls.clientCert, keyFile: tls.clientKey } },
      flags: [
        ...['--nats-tls-ca', tls.ca, '--nats-tls-cert', tls.clientCert],
        ...['--nats-tls-key', tls.clientKey],
      ],
      env: {
        SKEIN_NATS_TLS_CA: tls.ca,
        SKEIN_NATS_TLS_CERT: tls.clientCert,
        SKEIN_NATS_TLS_KEY: tls.clientKey,
      },
      probe: { tls: { caFile: tls.ca, certFile: tls.clientCert, keyFile: tls.clientKey } },
    },
  ];
}

const NO_CREDENTIALS = Object.fromEntries(
  Object.keys(process.env)
    .filter((k) => k.startsWith('SKEIN_NATS_') && k !== 'SKEIN_NATS_URL')
    .map((k) => [k, '']),
);

async function skeinCli(url: string, ns: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, ...NO_CREDENTIALS, SKEIN_NATS_URL: url, SKEIN_NAMESPACE: ns, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs `skein engine` with these arguments until `body` is done, then stops it. */
async function withCliEngine(
  url: string,
  ns: string,
  args: string[],
  env: Record<string, string>,
  body: () => Promise<void>,
) {
  const child = spawn(process.execPath, [bin, 'engine', '--id', `cli-${ns}`, ...args], {
    env: { ...process.env, ...NO_CREDENTIALS, SKEIN_NATS_URL: url, SKEIN_NAMESPACE: ns, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await Promise.race([
      body(),
      exited.then((code) => {
        throw new Error(`skein engine exited (${code}): ${stderr}`);
      }),
    ]);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** A worker and a client with `nats` run one task through whichever engine serves `ns`. */
async function runOneTask(url: string, ns: string, nats: NatsOptions) {
  const skein = Skein.init({ natsUrl: url, namespace: ns, nats, logger: testLogger });
  try {
    const echo = skein.task({
      name: 'echo',
      fn: (input: { n: number }) => ({ twice: input.n * 2 }),
    });
    const worker = await skein.worker('w', { workflows: [echo] });
    // The namespace exists once an engine has set it up: retry start() until then.
    await expect
      .poll(
        () =>
          worker.start().then(
            () => true,
            () => false,
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    await expect(echo.run({ n: 21 })).resolves.toEqual({ twice: 42 });
    await worker.stop();
  } finally {
    await skein.close();
  }
}

const all = await modes();

describe.each(all)('NATS with $name', (mode) => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer({ config: mode.config, probe: mode.probe });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('startEngine and Skein.init take it in `nats`, and a task runs', async () => {
    const ns = `c${randomUUID().slice(0, 8)}`;
    const engine = await startEngine({
      natsUrl: nats.url,
      namespace: ns,
      nats: mode.nats,
      logger: testLogger,
    });
    try {
      await runOneTask(nats.url, ns, mode.nats);
    } finally {
      await engine.stop();
    }
  }, 90_000);

  it('without it, the SDK and the engine reject with ConnectionError', async () => {
    const skein = Skein.init({ natsUrl: nats.url, namespace: 'nocreds', logger: testLogger });
    try {
      await expect(skein.runs.get('r')).rejects.toBeInstanceOf(ConnectionError);
    } finally {
      await skein.close();
    }
    await expect(
      startEngine({ natsUrl: nats.url, namespace: 'nocreds', logger: testLogger }),
    ).rejects.toThrow(new RegExp(`cannot connect to NATS at ${nats.url}`));
  }, 60_000);

  // Flags for one command and variables for the other, swapped from one kind to the next, so
  // that each kind goes through both commands and both ways.
  const engineByFlags = all.indexOf(mode) % 2 === 0;
  it(`skein engine takes it as ${engineByFlags ? 'flags' : 'variables'}, skein events push as ${engineByFlags ? 'variables' : 'flags'}`, async () => {
    const ns = `c${randomUUID().slice(0, 8)}`;
    const [engineArgs, engineEnv] = engineByFlags ? [mode.flags, {}] : [[], mode.env];
    const [pushArgs, pushEnv] = engineByFlags ? [[], mode.env] : [mode.flags, {}];
    await withCliEngine(nats.url, ns, engineArgs, engineEnv, async () => {
      await runOneTask(nats.url, ns, mode.nats);
      const pushed = await skeinCli(
        nats.url,
        ns,
        ['events', 'push', 'k', '{}', ...pushArgs],
        pushEnv,
      );
      expect(pushed.stderr).toBe('');
      expect(pushed.code).toBe(0);
      expect(JSON.parse(pushed.stdout)).toHaveProperty('eventId');
    });
  }, 120_000);
});

describe('bad NATS options', () => {
  it('an unknown or ill-typed field is a ValidationError naming it', () => {
    expect(() => Skein.init({ nats: { password: 'x' } as never })).toThrow(ValidationError);
    expect(() => Skein.init({ nats: { password: 'x' } as never })).toThrow(/'password'.*'pass'/);
    expect(() => Skein.init({ nats: { tls: { ca: 'x' } } as never })).toThrow(/nats\.tls/);
    expect(() => Skein.init({ nats: { token: 5 } as never })).toThrow(/nats\.token/);
  });

  it('a seed file the CLI cannot read is named, and the CLI exits 1', async () => {
    const out = await skeinCli('nats://127.0.0.1:1', 'x', [
      ...['events', 'push', 'k', '{}', '--nats-nkey', dir.path('missing.nk')],
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('the NKey seed file of --nats-nkey');
  });
});
