/**
 * The engine's HTTP server: /healthz and /login (open), then, behind the token (http-auth.ts),
 * /status, /metrics and the dashboard (dashboard/, the one place runtime/ reaches the SDK).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { createDashboard, type Dashboard } from '../dashboard/server.js';
import { HttpAuth } from './http-auth.js';
import type { HttpConfig } from './http-options.js';
import type { NatsOptions } from './nats-options.js';
import type { MetricsRoute } from './metrics/http.js';

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

export interface HttpDeps {
  status: () => unknown;
  logger: Logger;
  /** What the dashboard's SDK client and its live feed need (the engine's own NATS). */
  dashboard: {
    natsUrl?: string | string[];
    nats?: NatsOptions;
    namespace: string;
    js: JetStreamClient;
    nc: NatsConnection;
  };
  /** GET /metrics; without it (metrics: false), 404. */
  metrics?: MetricsRoute;
}

export async function startHttp(config: HttpConfig, deps: HttpDeps): Promise<HttpServer> {
  const auth = new HttpAuth(config);
  const dashboard: Dashboard = createDashboard({ ...deps.dashboard, logger: deps.logger });
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://engine');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (url.pathname === '/login') return auth.login(url, res);
    if (!auth.check(req, res)) return;
    if (url.pathname === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(deps.status()));
      return;
    }
    if (url.pathname === '/metrics') {
      if (deps.metrics) deps.metrics(res);
      else res.writeHead(404).end();
      return;
    }
    return dashboard.handle(req, res, url);
  };
  const server = createServer((req, res) => {
    Promise.resolve(route(req, res)).catch((err: unknown) => {
      deps.logger.warn({ err, url: req.url }, 'http request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  }).catch(async (err: unknown) => {
    await dashboard.close();
    throw err;
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : config.port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close(); // ends the live streams, which would hold the server open
      server.closeAllConnections();
      await closed;
    },
  };
}
