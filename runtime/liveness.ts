/**
 * Tells a dead engine from a live one in a fraction of a second. Each engine instance answers
 * on a core subject of its own while its NATS connection lives. When a process dies, the OS
 * closes its socket and the server drops its subscriptions at once, so a request to that
 * subject gets the server's "no responders" reply: the instance is gone. A reply means alive;
 * silence (a stalled process, a half-open connection) proves nothing, and leaves the decision
 * to the lease records' expiry.
 */
import { NoRespondersError, RequestError } from '@nats-io/nats-core';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Names } from './protocol.js';

type Presence = 'alive' | 'gone' | 'unknown';

/** How long a probe waits for an answer before it says 'unknown'. */
const PROBE_TIMEOUT_MS = 1000;

export class EnginePresence {
  private sub?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    readonly instance: string,
  ) {}

  /** Answers probes from now on; resolves once the server has the subscription. */
  async start() {
    this.sub = this.nc.subscribe(this.names.enginePresence(this.instance), {
      callback: (_err, msg) => void msg.respond(),
    });
    await this.nc.flush();
  }

  stop() {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** Whether the instance still holds a NATS connection. */
  async probe(instance: string): Promise<Presence> {
    try {
      await this.nc.request(this.names.enginePresence(instance), undefined, {
        timeout: PROBE_TIMEOUT_MS,
      });
      return 'alive';
    } catch (err) {
      return isNoResponders(err) ? 'gone' : 'unknown';
    }
  }
}

function isNoResponders(err: unknown): boolean {
  return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
}
