/**
 * How Skein authenticates to NATS: Skein's own options type (the SDK, the engine and the CLI
 * take it), the SKEIN_NATS_* environment variables that fill it, and its translation into the
 * NATS client's connection options.
 */
import { readFileSync } from 'node:fs';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  type Authenticator,
  type ConnectionOptions,
} from '@nats-io/nats-core';
import { ValidationError } from './errors.js';
import { checkOptions, optionNames } from './options.js';

/** Files the client reads to set up TLS (PEM). */
export interface NatsTlsOptions {
  /** The CA that signed the server's certificate, when it is not a public one. */
  caFile?: string;
  /** This client's certificate and key, when the server verifies clients (`verify: true`). */
  certFile?: string;
  keyFile?: string;
}

/** Credentials and TLS for the NATS connection. Fields given in code win over the environment. */
export interface NatsOptions {
  /** User and password (server: `authorization { users = [...] }`). Env SKEIN_NATS_USER / _PASS. */
  user?: string;
  pass?: string;
  /** A token (server: `authorization { token }`). Env SKEIN_NATS_TOKEN. */
  token?: string;
  /** An NKey user's seed ('SU…'). Env SKEIN_NATS_NKEY names a file that holds it. */
  nkeySeed?: string;
  /** A creds file (a user JWT and its seed, as `nsc` writes it). Env SKEIN_NATS_CREDS. */
  credsFile?: string;
  /** TLS. Env SKEIN_NATS_TLS_CA / _CERT / _KEY. */
  tls?: NatsTlsOptions;
}

const NATS_OPTIONS = optionNames<NatsOptions>({
  user: true,
  pass: true,
  token: true,
  nkeySeed: true,
  credsFile: true,
  tls: true,
});
const TLS_OPTIONS = optionNames<NatsTlsOptions>({ caFile: true, certFile: true, keyFile: true });

/** Refuses unknown or ill-typed fields with a ValidationError naming them. */
export function checkNatsOptions(value: unknown, where: string): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(`${where}: nats must be an object`);
  checkOptions(value, NATS_OPTIONS, `${where}: nats`);
  const v = value as Record<string, unknown>;
  checkOptions(v.tls, TLS_OPTIONS, `${where}: nats.tls`);
  const fields: [string, unknown][] = [
    ...Object.entries(v).filter(([k]) => k !== 'tls'),
    ...Object.entries((v.tls ?? {}) as Record<string, unknown>).map(
      ([k, x]) => [`tls.${k}`, x] as [string, unknown],
    ),
  ];
  for (const [name, x] of fields)
    if (x !== undefined && (typeof x !== 'string' || x === ''))
      throw new ValidationError(`${where}: nats.${name} must be a non-empty string`);
}

/** Credentials as the environment and the CLI give them: secrets in files named by path. */
interface NatsSettings {
  user?: string;
  pass?: string;
  token?: string;
  /** A file holding an NKey seed. */
  nkeyFile?: string;
  credsFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** NatsOptions from settings; `what` names where they came from, for a seed file it cannot read. */
export function natsOptionsFrom(s: NatsSettings, what: string): NatsOptions {
  const tls: NatsTlsOptions = {
    caFile: s.tlsCa || undefined,
    certFile: s.tlsCert || undefined,
    keyFile: s.tlsKey || undefined,
  };
  return {
    user: s.user || undefined,
    pass: s.pass || undefined,
    token: s.token || undefined,
    nkeySeed: s.nkeyFile ? readText(s.nkeyFile, what).trim() : undefined,
    credsFile: s.credsFile || undefined,
    tls: Object.values(tls).some(Boolean) ? tls : undefined,
  };
}

/** The SKEIN_NATS_* variables of `env`. */
function natsOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NatsOptions {
  return natsOptionsFrom(
    {
      user: env.SKEIN_NATS_USER,
      pass: env.SKEIN_NATS_PASS,
      token: env.SKEIN_NATS_TOKEN,
      nkeyFile: env.SKEIN_NATS_NKEY,
      credsFile: env.SKEIN_NATS_CREDS,
      tlsCa: env.SKEIN_NATS_TLS_CA,
      tlsCert: env.SKEIN_NATS_TLS_CERT,
      tlsKey: env.SKEIN_NATS_TLS_KEY,
    },
    'the NKey seed file of SKEIN_NATS_NKEY',
  );
}

function readText(path: string, what: string): string {
  try {
    // Whole lines: the creds parser needs the newline that ends the file.
    return readFileSync(path, 'utf8').trim() + '\n';
  } catch (err) {
    throw new ValidationError(`cannot read ${what} '${path}': ${(err as Error).message}`);
  }
}

const defined = <T extends object>(o: T | undefined): Partial<T> =>
  Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;

/** `given` over the environment's, field by field. */
export function resolveNatsOptions(given: NatsOptions | undefined): NatsOptions {
  const env = natsOptionsFromEnv();
  const tls = { ...defined(env.tls), ...defined(given?.tls) };
  return {
    ...defined(env),
    ...defined(given),
    tls: Object.keys(tls).length ? tls : undefined,
  };
}

/** The NATS client's options for `o`; a creds file is read here, so a missing one says so. */
export function toConnectionOptions(o: NatsOptions): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (o.user !== undefined) out.user = o.user;
  if (o.pass !== undefined) out.pass = o.pass;
  if (o.token !== undefined) out.token = o.token;
  const authenticators: Authenticator[] = [];
  if (o.nkeySeed !== undefined)
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(o.nkeySeed)));
  if (o.credsFile !== undefined)
    authenticators.push(
      credsAuthenticator(new TextEncoder().encode(readText(o.credsFile, 'the creds file'))),
    );
  if (authenticators.length) out.authenticator = authenticators;
  if (o.tls) out.tls = { ...defined(o.tls) };
  return out;
}
