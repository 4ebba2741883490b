/**
 * Consumes a durable pull consumer until stopped, handing each message to `handle`, which
 * runs concurrently with others; `stop` waits for the messages in hand.
 */
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';

export class ConsumerLoop {
  private messages?: ConsumerMessages;
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
    const c = await this.js.consumers.get(this.stream, this.consumer);
    // A consumer deleted behind the engine's back ends the loop (to be restarted) rather than
    // leaving it waiting for a consumer that will not come back.
    this.messages = await c.consume({
      max_messages: this.maxMessages,
      abort_on_missing_resource: true,
    });
    const messages = this.messages;
    this.done = (async () => {
      for await (const msg of messages) {
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

  async stop() {
    await this.messages?.close().catch(() => undefined);
    await this.done;
    await Promise.all([...this.inFlight]);
  }
}
