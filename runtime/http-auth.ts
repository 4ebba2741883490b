/**
 * Who may use the engine's HTTP endpoints. With a token, every request but /healthz carries it:
 * `Authorization: Bearer <token>`, or the cookie `/login?token=…` sets (a browser's event
 * stream cannot send headers). Without one (loopback only), requests must name this machine in
 * their Host header, so a web page cannot reach the dashboard through a DNS name rebound to
 * 127.0.0.1.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopback, type HttpConfig } from './http-options.js';

export const SESSION_COOKIE = 'skein_session';
/** A login lasts this long (the cookie's Max-Age), in seconds. */
const SESSION_SECONDS = 30 * 24 * 3600;

/** The cookie holds a digest of the token, not the token itself. */
const sessionOf = (token: string) =>
  createHash('sha256').update(`skein dashboard session\n${token}`).digest('hex');

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The host name of a Host header (`127.0.0.1:8080`, `[::1]:8080`, `localhost`). */
const hostName = (host: string) => host.replace(/:\d+$/, '');

export class HttpAuth {
  private readonly session?: string;

  constructor(private readonly config: HttpConfig) {
    this.session = config.token === undefined ? undefined : sessionOf(config.token);
  }

  /** Answers the request with 401 or 403 and returns false when it may not go on. */
  check(req: IncomingMessage, res: ServerResponse): boolean {
    const { token } = this.config;
    if (token === undefined) {
      if (isLoopback(hostName(req.headers.host ?? ''))) return true;
      res
        .writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
        .end(
          'This engine serves its dashboard to this machine only: open it as http://127.0.0.1:<port>/ (or set a token to serve it to others).\n',
        );
      return false;
    }
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return true;
    const session = cookie(req, SESSION_COOKIE);
    if (session !== undefined && this.session && sameSecret(session, this.session)) return true;
    res
      .writeHead(401, {
        'content-type': 'text/plain; charset=utf-8',
        'www-authenticate': 'Bearer realm="skein"',
      })
      .end(
        'This Skein dashboard needs its token: open /login?token=<token> once in this browser, or send the header Authorization: Bearer <token>.\n',
      );
    return false;
  }

  /** `GET /login?token=…`: a right token sets the session cookie and goes to the dashboard. */
  login(url: URL, res: ServerResponse) {
    const { token } = this.config;
    const given = url.searchParams.get('token');
    if (token === undefined || this.session === undefined) {
      res.writeHead(303, { location: '/' }).end();
    } else if (given !== null && sameSecret(given, token)) {
      res
        .writeHead(303, {
          location: '/',
          'set-cookie': `${SESSION_COOKIE}=${this.session}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_SECONDS}`,
          'cache-control': 'no-store',
        })
        .end();
    } else {
      res
        .writeHead(401, { 'content-type': 'text/plain; charset=utf-8' })
        .end("Wrong or missing token: open /login?token=<the engine's dashboard token>.\n");
    }
  }
}
