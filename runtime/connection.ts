/** Connecting to NATS, with a clear error when nothing answers. */
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import { DEFAULT_NATS_URL } from './protocol.js';

export function resolveNatsUrl(natsUrl?: string | string[]): string | string[] {
  return natsUrl ?? process.env.SKEIN_NATS_URL?.split(',') ?? DEFAULT_NATS_URL;
}

export async function connectNats(
  natsUrl: string | string[] | undefined,
  options: ConnectionOptions | undefined,
  name: string,
): Promise<NatsConnection> {
  const servers = resolveNatsUrl(natsUrl);
  try {
    // Async traces cost an Error (with its stack) per request: too dear on the hot path.
    return await connect({
      maxReconnectAttempts: -1,
      noAsyncTraces: true,
      ...options,
      servers,
      name,
    });
  } catch (err) {
    const where = Array.isArray(servers) ? servers.join(', ') : servers;
    const e = new Error(
      `cannot connect to NATS at ${where}: ${err instanceof Error ? err.message : String(err)}`,
    );
    (e as Error & { cause: unknown }).cause = err;
    throw e;
  }
}
