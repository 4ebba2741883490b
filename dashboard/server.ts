/**
 * The dashboard: pages (routes.ts) rendered on the server in the layout, static assets, the
 * live feed (live.ts) and the POST actions (actions.ts), which take same-origin requests only.
 * Mounted by the engine's HTTP server (runtime/http.ts), which checks the token first. It is an
 * SDK client of the engine's namespace: it reads and acts as a user would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { NatsOptions } from '../runtime/nats-options.js';
import { names } from '../runtime/protocol.js';
import { NotFoundError, Skein, ValidationError } from '../sdk/index.js';
import { runAction, type ActionResult } from './actions.js';
import { assets } from './assets-files.js';
import type { DashboardDeps, PageResult } from './context.js';
import { html } from './html.js';
import { layout } from './layout.js';
import { LiveRuns, serveLive, type RunStreams } from './live.js';
import { ROUTES } from './routes.js';

export interface DashboardOptions {
  natsUrl?: string | string[];
  nats?: NatsOptions;
  namespace: string;
  /** The engine's JetStream client: the live feed's one consumer reads through it. */
  js: JetStreamClient;
  /** The engine's connection: a run page's stream chunks come through it (core NATS). */
  nc: NatsConnection;
  logger: Logger;
}

export interface Dashboard {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** Ends the live streams and closes the dashboard's client. */
  close(): Promise<void>;
}

/** A notice for the next page (an action's outcome), kept in a cookie across the redirect. */
const NOTICE_COOKIE = 'skein_notice';
/** The largest form an action takes (push-event payloads and trigger inputs are JSON text). */
const MAX_FORM_BYTES = 1024 * 1024;

interface Route {
  segments: string[];
  page: (typeof ROUTES)[number]['page'];
}

const routes: Route[] = ROUTES.map((r) => ({
  segments: r.pattern.split('/').filter(Boolean),
  page: r.page,
}));

function match(pathname: string): { route: Route; params: Record<string, string> } | undefined {
  const parts = pathname.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = route.segments.every((seg, i) => {
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return seg === parts[i];
    });
    if (ok) return { route, params };
  }
  return undefined;
}

/**
 * A request another site's page made: the browser says so in Sec-Fetch-Site, or in an Origin
 * that is not this server's. Requests with neither come from programs (curl), not from a
 * browser carrying the user's cookie.
 */
export function crossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded'))
      return reject(new ValidationError('actions take a form (application/x-www-form-urlencoded)'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        reject(new ValidationError(`a form over ${MAX_FORM_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function readNotice(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === NOTICE_COOKIE) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function sendPage(
  res: ServerResponse,
  status: number,
  page: PageResult,
  path: string,
  notice?: string,
) {
  const body = notice
    ? html`<p role="status" class="notice">${notice}</p>
        ${page.body}`
    : page.body;
  const headers: Record<string, string> = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
  };
  if (notice !== undefined) headers['set-cookie'] = `${NOTICE_COOKIE}=; Path=/; Max-Age=0`;
  // Encoded once, with its length: a string of a long page (a run's history, ~0.5 MB) was
  // measured again and encoded again by the response, ~10 ms on the engine's event loop.
  const bytes = Buffer.from(layout(page.title, body, path).text);
  headers['content-length'] = String(bytes.length);
  res.writeHead(status, headers).end(bytes);
}

function errorPage(err: unknown): { status: number; page: PageResult } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NotFoundError)
    return { status: 404, page: { title: 'Not found', body: html`<p>${message}</p>` } };
  if (err instanceof ValidationError)
    return { status: 400, page: { title: 'Not understood', body: html`<p>${message}</p>` } };
  return {
    status: 500,
    page: {
      title: 'Something went wrong',
      body: html`<p>The dashboard could not answer: ${message}</p>
        <p>The engine's log has more. Reload to try again.</p>`,
    },
  };
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  const { logger } = opts;
  const skein = Skein.init({
    natsUrl: opts.natsUrl,
    nats: opts.nats,
    namespace: opts.namespace,
    logger,
  });
  const deps: DashboardDeps = { skein, logger };
  const live = new LiveRuns({ js: opts.js, names: names(opts.namespace), logger });
  const streams: RunStreams = { nc: opts.nc, names: names(opts.namespace), logger };

  const answer = (res: ServerResponse, url: URL, result: ActionResult) => {
    if ('page' in result) return sendPage(res, 200, result.page, url.pathname);
    const headers: Record<string, string> = { location: result.redirect };
    if (result.notice)
      headers['set-cookie'] =
        `${NOTICE_COOKIE}=${encodeURIComponent(result.notice)}; Path=/; Max-Age=60; SameSite=Strict`;
    res.writeHead(303, headers).end();
  };

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL) {
    const method = req.method ?? 'GET';
    const path = url.pathname === '/' ? '/runs' : url.pathname;
    try {
      if (method === 'POST' && url.pathname.startsWith('/actions/')) {
        if (crossSite(req)) {
          res
            .writeHead(403, { 'content-type': 'text/plain; charset=utf-8' })
            .end('Refused: dashboard actions are taken from the dashboard itself (same origin).\n');
          return;
        }
        const form = await readForm(req);
        return answer(
          res,
          url,
          await runAction(url.pathname.slice('/actions/'.length), form, deps),
        );
      }
      if (method !== 'GET' && method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD, POST' }).end();
        return;
      }
      if (url.pathname.startsWith('/assets/')) {
        const asset = assets().get(url.pathname.slice('/assets/'.length));
        if (!asset) throw new NotFoundError(`no asset ${url.pathname}`);
        if (req.headers['if-none-match'] === asset.etag) {
          res.writeHead(304).end();
          return;
        }
        res
          .writeHead(200, {
            'content-type': asset.type,
            etag: asset.etag,
            'cache-control': 'no-cache',
          })
          .end(method === 'HEAD' ? undefined : asset.body);
        return;
      }
      if (url.pathname === '/live') return await serveLive(req, res, url, live, streams);
      const found = match(url.pathname);
      if (!found) throw new NotFoundError(`nothing at ${url.pathname}`);
      const page = await found.route.page({ deps, url, params: found.params });
      sendPage(res, 200, page, path, readNotice(req));
    } catch (err) {
      const { status, page } = errorPage(err);
      if (status === 500) logger.warn({ err, url: url.pathname }, 'dashboard: a request failed');
      if (res.headersSent) return void res.end();
      sendPage(res, status, page, path);
    }
  }

  return {
    handle,
    async close() {
      await live.close();
      await skein.close().catch(() => undefined);
    },
  };
}
