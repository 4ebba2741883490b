/** The setting most benchmarks run in: an own nats-server, the engine in a child process, clients here. */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Skein } from 'skein';
import { startNatsServer } from '../test/support/nats-server.js';
import { EngineChild } from './skein.js';

export interface BenchSkein {
  url: string;
  namespace: string;
  /** A client on the bench's namespace. */
  skein: Skein;
  /** Another client on it (closed with the rest). */
  client(): Skein;
  /** The engine child (stopped at the end unless killed before). */
  engine: EngineChild;
}

/** Runs `body` against a fresh namespace (`<prefix>xxxxxx`), then stops everything it started. */
export async function withBenchSkein<T>(
  prefix: string,
  body: (env: BenchSkein) => Promise<T>,
  opts: { engineId?: string } = {},
): Promise<T> {
  const nats = await startNatsServer();
  const namespace = `${prefix}${randomUUID().slice(0, 6)}`;
  const { engine } = await EngineChild.start(nats.url, namespace, opts.engineId);
  const logger = pino({ level: process.env.SKEIN_BENCH_LOG ?? 'warn' });
  const clients: Skein[] = [];
  const client = () => {
    const skein = Skein.init({ natsUrl: nats.url, namespace, logger });
    clients.push(skein);
    return skein;
  };
  try {
    return await body({ url: nats.url, namespace, skein: client(), client, engine });
  } finally {
    for (const c of clients) await c.close();
    await engine.stop();
    await nats.stop();
  }
}
