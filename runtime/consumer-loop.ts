/**
 * Consumes a durable pull consumer until stopped, handing each message to `handle`, which
 * runs concurrently with others; `stop` waits for the messages in hand.
 */
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';

/**
 * How long each pull request of a consumer waits at the server. The client watches for the
 * server's idle heartbeats (every half of this) and pulls again after two missed ones; and when
 * it cannot look the consumer up (a cluster electing leaders) it tries again after this long.
 * With the client's default, 30 s, a pull request lost with a dead node that the engine did not
 * hear of stopped the consumer for 30 s: sleeps woke 20-30 s late with a node down.
 */
export const PULL_EXPIRES_MS = 5_000;

export class ConsumerLoop {
  private consumerHandle?: Consumer;
  private messages?: ConsumerMessages;
  /** The highest stream sequence delivered to this loop. */
  private lastSeq = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private done?: Promise<void>;
  private ended = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly consumer: string,
    /** May finish synchronously (returning nothing) or return a promise. */
    private readonly handle: (msg: JsMsg) => void | Promise<void>,
    private readonly logger: Logger,
    private readonly maxMessages = 1000,
  ) {}

  async start() {
    this.consumerHandle = await this.js.consumers.get(this.stream, this.consumer);
    await this.consume(this.consumerHandle);
  }

  private async consume(c: Consumer) {
    this.ended = false;
    // A consumer deleted behind the engine's back ends the loop (to be restarted) rather than
    // leaving it waiting for a consumer that will not come back.
    this.messages = await c.consume({
      max_messages: this.maxMessages,
      expires: PULL_EXPIRES_MS,
      abort_on_missing_resource: true,
    });
    const messages = this.messages;
    this.done = (async () => {
      for await (const msg of messages) {
        if (msg.seq > this.lastSeq) this.lastSeq = msg.seq;
        let result: void | Promise<void>;
        try {
          result = this.handle(msg);
        } catch (err) {
          this.logger.error({ err, subject: msg.subject }, 'message handler failed');
          continue;
        }
        if (!result) continue; // handled synchronously
        const p = result.catch((err: unknown) => {
          this.logger.error({ err, subject: msg.subject }, 'message handler failed');
        });
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      }
    })()
      .catch((err: unknown) => this.logger.warn({ err, consumer: this.consumer }, 'consumer ended'))
      .finally(() => (this.ended = true));
  }

  /** Started and still consuming (false once the loop ended, e.g. its consumer was deleted). */
  healthy() {
    return this.messages !== undefined && !this.ended;
  }

  /**
   * After the consumer moved to another server, which took the last pull request with it: pulls
   * again. Messages in hand stay in hand (acks go to the new leader, which also keeps the nak
   * delays: checked on nats-server 2.9.10). False when the move lost deliveries in transit (the
   * consumer counts as delivered a sequence this loop never saw, which would come again only
   * after ack_wait): the caller must then restart the consumer from its ack floor.
   */
  async pullAgain(): Promise<boolean> {
    const c = this.consumerHandle;
    if (!c || !this.healthy()) return false;
    if ((await c.info()).delivered.stream_seq > this.lastSeq) return false;
    await this.stop();
    await this.consume(c);
    return true;
  }

  async stop() {
    await this.messages?.close().catch(() => undefined);
    await this.done;
    await Promise.all([...this.inFlight]);
  }
}
