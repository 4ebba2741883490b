/**
 * Test identities for a locked NATS, made at test time into a temp dir (no key is committed):
 * nats-server config snippets for user/password, token, NKey and operator (JWT/creds) mode, and a
 * CA with server and client certificates made by `openssl`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';

/** A NATS permissions block: subjects a user may publish and subscribe to. */
export interface Permissions {
  publish: string[];
  subscribe: string[];
}

export class CredentialsDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'skein-creds-'));

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, text: string | Uint8Array): string {
    const p = this.path(name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

function permissionsConfig(p: Permissions): string {
  return `permissions: { publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} } }`;
}

/** `authorization { users = [...] }` with a password per user and optional permissions. */
export function usersConfig(
  users: { user: string; password: string; permissions?: Permissions }[],
): string {
  const entries = users.map(
    (u) =>
      `{ user: ${JSON.stringify(u.user)}, password: ${JSON.stringify(u.password)}${
        u.permissions ? `, ${permissionsConfig(u.permissions)}` : ''
      } }`,
  );
  return `authorization { users = [\n  ${entries.join(',\n  ')}\n] }\n`;
}

export function tokenConfig(token: string): string {
  return `authorization { token: ${JSON.stringify(token)} }\n`;
}

/** An NKey user: the server knows its public key, the client holds the seed. */
export function nkeyUser(): { seed: string; config: string } {
  const kp = createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  return { seed, config: `authorization { users = [ { nkey: ${kp.getPublicKey()} } ] }\n` };
}

const UNLIMITED = {
  subs: -1,
  conn: -1,
  leaf: -1,
  imports: -1,
  exports: -1,
  data: -1,
  payload: -1,
  wildcards: true,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

/**
 * Operator mode: an operator, a system account and an account with JetStream, preloaded into
 * a memory resolver; `creds()` signs a user of that account into a creds file's text.
 */
export async function operatorMode(): Promise<{
  config: string;
  creds(name: string, permissions?: Permissions): Promise<Uint8Array>;
}> {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const operatorJwt = await encodeOperator('skein-test-op', operator, {
    system_account: system.getPublicKey(),
  });
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const accountJwt = await encodeAccount(
    'SKEIN',
    account,
    { limits: UNLIMITED },
    { signer: operator },
  );
  const config = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${system.getPublicKey()}: ${systemJwt}`,
    `  ${account.getPublicKey()}: ${accountJwt}`,
    '}',
    '',
  ].join('\n');
  return {
    config,
    async creds(name, permissions) {
      const user = createUser();
      const jwt = await encodeUser(
        name,
        user,
        account,
        permissions
          ? { pub: { allow: permissions.publish }, sub: { allow: permissions.subscribe } }
          : {},
      );
      return fmtCreds(jwt, user);
    },
  };
}

/**
 * A CA and a server certificate for 127.0.0.1 signed by it, and a client certificate; the
 * config makes the server require TLS and verify client certificates against the CA.
 */
export function tlsFiles(dir: CredentialsDir): {
  ca: string;
  clientCert: string;
  clientKey: string;
  config: string;
} {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = dir.path('ca.pem');
  const caKey = dir.path('ca.key');
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=skein-test-ca',
  );
  const sign = (name: string, cn: string, ext: string) => {
    const key = dir.path(`${name}.key`);
    const csr = dir.path(`${name}.csr`);
    const cert = dir.path(`${name}.pem`);
    const extFile = dir.write(`${name}.ext`, `${ext}\n`);
    ssl('req', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`);
    ssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      extFile,
    );
    return { key, cert };
  };
  const server = sign('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  const client = sign('client', 'skein-test-client', 'extendedKeyUsage=clientAuth');
  const config = `tls {\n  cert_file: ${JSON.stringify(server.cert)}\n  key_file: ${JSON.stringify(server.key)}\n  ca_file: ${JSON.stringify(ca)}\n  verify: true\n}\n`;
  return { ca, clientCert: client.cert, clientKey: client.key, config };
}
