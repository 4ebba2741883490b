/** Connecting to NATS and its JetStream, with a clear ConnectionError when either is missing. */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionError } from './errors.js';
import { resolveNatsOptions, toConnectionOptions, type NatsOptions } from './nats-options.js';
import { DEFAULT_NATS_URL } from './protocol.js';

function resolveNatsUrl(natsUrl?: string | string[]): string | string[] {
  return natsUrl ?? process.env.SKEIN_NATS_URL?.split(',') ?? DEFAULT_NATS_URL;
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function connectNats(
  natsUrl: string | string[] | undefined,
  options: NatsOptions | undefined,
  name: string,
): Promise<NatsConnection> {
  const servers = resolveNatsUrl(natsUrl);
  const auth = toConnectionOptions(resolveNatsOptions(options));
  try {
    // Async traces cost an Error (with its stack) per request: too dear on the hot path.
    return await connect({
      maxReconnectAttempts: -1,
      noAsyncTraces: true,
      ...auth,
      servers,
      name,
    });
  } catch (err) {
    const where = Array.isArray(servers) ? servers.join(', ') : servers;
    throw new ConnectionError(`cannot connect to NATS at ${where}: ${reason(err)}`);
  }
}

/**
 * The connection's JetStream manager. A server without JetStream (or an account without it)
 * closes the connection and rejects with a ConnectionError that says how to enable it.
 */
export async function openJetStream(nc: NatsConnection): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc);
  } catch (err) {
    await nc.close().catch(() => undefined);
    const where = `the NATS server at ${nc.getServer()}`;
    if ((err as Error | undefined)?.name !== 'JetStreamNotEnabled')
      throw new ConnectionError(`cannot use JetStream on ${where}: ${reason(err)}`);
    throw new ConnectionError(
      /account/i.test(reason(err))
        ? `JetStream is not enabled for this account on ${where}: enable it for the account in the server's configuration`
        : `JetStream is not enabled on ${where}: start nats-server with -js (or a jetstream block in its configuration)`,
    );
  }
}
