/**
 * `startEngine({ http: { port, host, token } })`: where the engine serves /healthz, /status and
 * the dashboard, and the token that guards them. Checked before the engine connects, so a
 * dashboard that would be open to the network stops the start with a clear error.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ValidationError } from './errors.js';
import { checkOptions, optionNames } from './options.js';

export interface HttpOptions {
  /** 0: a free port (the engine's `httpPort` says which). */
  port: number;
  /** Default 127.0.0.1. Any host but a loopback one needs a token. */
  host?: string;
  /** What every request but /healthz must carry (default: env SKEIN_DASHBOARD_TOKEN). */
  token?: string;
}

/** The checked options: `token` undefined means none is asked for (loopback only). */
export interface HttpConfig {
  port: number;
  host: string;
  token: string | undefined;
  /** `host` is a loopback address: only this machine reaches it. */
  loopback: boolean;
}

export const DEFAULT_HTTP_HOST = '127.0.0.1';
export const TOKEN_ENV = 'SKEIN_DASHBOARD_TOKEN';
/** A token shorter than this is a password anyone could guess. */
const MIN_TOKEN_LENGTH = 16;

const HTTP_OPTIONS = optionNames<HttpOptions>({ port: true, host: true, token: true });

const schema = z.object({
  port: z.number().int().min(0).max(65_535),
  host: z.string().min(1).optional(),
  token: z.string().optional(),
});

/** Names only this machine reaches. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

export function checkHttpOptions(
  opts: HttpOptions,
  env: NodeJS.ProcessEnv = process.env,
): HttpConfig {
  checkOptions(opts, HTTP_OPTIONS, 'startEngine: http');
  const parsed = schema.safeParse(opts);
  if (!parsed.success)
    throw new ValidationError(
      `startEngine: http: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const host = parsed.data.host ?? DEFAULT_HTTP_HOST;
  const token = parsed.data.token ?? (env[TOKEN_ENV] || undefined);
  const from = parsed.data.token === undefined ? TOKEN_ENV : 'http.token';
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
    throw new ValidationError(
      `startEngine: ${from} must be at least ${MIN_TOKEN_LENGTH} characters (got ${token.length}): make one with 'openssl rand -hex 24'`,
    );
  const loopback = isLoopback(host);
  if (!loopback && token === undefined)
    throw new ValidationError(
      `startEngine: http.host '${host}' is reachable from other machines, and the dashboard ` +
        `can cancel and replay runs: set http.token (or env ${TOKEN_ENV}, or --dashboard-token), ` +
        `or serve on 127.0.0.1`,
    );
  return { port: parsed.data.port, host, token, loopback };
}
