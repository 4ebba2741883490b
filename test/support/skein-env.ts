/**
 * A whole Skein on a private nats-server, for integration tests:
 *
 *   const env = await startSkeinEnv();          // in beforeAll
 *   const { skein } = await env.client();       // each test may take its own namespace
 *   ...
 *   await env.stop();                           // in afterAll
 *
 * Each `client()` call makes a fresh namespace (unless given one) with an engine serving
 * it, so tests in one file do not see each other's runs, workers or task names.
 * Logs are silent unless SKEIN_TEST_LOG=debug|info|warn.
 */
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { Skein, type SkeinOptions } from 'skein';
import { startEngine, type Engine, type EngineOptions } from 'skein/runtime';
import {
  startNatsServer,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from './nats-server.js';

export const testLogger: Logger = pino({ level: process.env.SKEIN_TEST_LOG ?? 'silent' });

export interface SkeinClientEnv {
  namespace: string;
  skein: Skein;
  engine: Engine;
  /** Another engine on the same namespace. */
  startEngine(opts?: Partial<EngineOptions>): Promise<Engine>;
  /** Another client on the same namespace. */
  newClient(): Skein;
}

export interface SkeinEnv {
  nats: NatsServerHandle;
  url: string;
  client(opts?: {
    namespace?: string;
    engine?: Partial<EngineOptions>;
    /** More options for the client's Skein.init. */
    skein?: Partial<SkeinOptions>;
  }): Promise<SkeinClientEnv>;
  stop(): Promise<void>;
}

export async function startSkeinEnv(natsOptions?: StartNatsServerOptions): Promise<SkeinEnv> {
  const nats = await startNatsServer(natsOptions);
  const engines: Engine[] = [];
  const clients: Skein[] = [];
  const newEngine = async (namespace: string, opts?: Partial<EngineOptions>) => {
    const engine = await startEngine({ natsUrl: nats.url, namespace, logger: testLogger, ...opts });
    engines.push(engine);
    return engine;
  };
  const newClient = (namespace: string, opts?: Partial<SkeinOptions>) => {
    const skein = Skein.init({ natsUrl: nats.url, namespace, logger: testLogger, ...opts });
    clients.push(skein);
    return skein;
  };
  return {
    nats,
    url: nats.url,
    async client(opts = {}) {
      const namespace = opts.namespace ?? `t${randomUUID().slice(0, 8)}`;
      const engine = await newEngine(namespace, opts.engine);
      return {
        namespace,
        engine,
        skein: newClient(namespace, opts.skein),
        startEngine: (o) => newEngine(namespace, o),
        newClient: () => newClient(namespace),
      };
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled(engines.map((e) => e.stop()));
      await nats.stop();
    },
  };
}
