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
  /**
   * The consumer's sequence of the last delivery this loop got. The consumer numbers each
   * delivery (a redelivery too) one after the other, and only this loop pulls from it: a jump
   * means deliveries lost in transit (a connection or a server gone), which the consumer
   * would send again only after its ack_wait.
   */
  private lastDelivery = 0;
  private lostDeliveries = false;
  private readonly inFlight = new Set<Promise<void>>();
  private done?: Promise<void>;
  private ended = false;
  private stopRequested = false;

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
    this.stopRequested = false;
    this.lastDelivery = 0;
    this.lostDeliveries = false;
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
        this.delivered(msg.info.deliverySequence);
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

  private delivered(seq: number) {
    if (this.lastDelivery > 0 && seq > this.lastDelivery + 1 && !this.lostDeliveries) {
      this.lostDeliveries = true;
      this.logger.warn(
        { consumer: this.consumer, lost: seq - this.lastDelivery - 1 },
        'deliveries lost in transit: starting again from the ack floor',
      );
    }
    if (seq > this.lastDelivery) this.lastDelivery = seq;
  }

  /**
   * Started and still consuming: false once the loop ended (e.g. its consumer was deleted) or
   * lost deliveries, so that its keeper restarts it from the consumer's ack floor.
   */
  healthy() {
    return this.messages !== undefined && !this.ended && !this.lostDeliveries;
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
    // Checked once this loop's pull is closed: a delivery sent to it meanwhile counts too.
    // Messages in hand are not waited for: they are acknowledged to the new leader.
    await this.closePull();
    let lost: boolean;
    try {
      lost = (await c.info()).delivered.consumer_seq > this.lastDelivery;
    } catch (err) {
      await this.consume(c); // a consumer still electing its leader: asked again later
      throw err;
    }
    if (lost) return false;
    await this.consume(c);
    return true;
  }

  /** True once stop() began: a handler trying again in process gives its message up. */
  get stopping() {
    return this.stopRequested;
  }

  async stop() {
    this.stopRequested = true;
    await this.closePull();
    await Promise.all([...this.inFlight]);
  }

  private async closePull() {
    await this.messages?.close().catch(() => undefined);
    await this.done;
  }
}

/**
 * Tries `attempt` until it succeeds, keeping `msg` in hand (`working()`) `everyMs` between tries;
 * `failed` hears of the first failure and of every 20th. A failure `retryable` refuses is
 * thrown. False when `loop` began stopping first: the message, left unacknowledged, comes to
 * whoever consumes next. Trying again here rather than by a nak: a nak sent while the consumer
 * elects a new leader (a NATS node died) is lost, and the message then waits out the
 * consumer's ack_wait (30 s).
 */
export async function retryInHand(
  loop: ConsumerLoop,
  msg: JsMsg,
  everyMs: number,
  attempt: () => Promise<unknown>,
  failed: (err: unknown, failures: number) => void,
  retryable: (err: unknown) => boolean = () => true,
): Promise<boolean> {
  for (let failures = 1; ; failures++) {
    try {
      await attempt();
      return true;
    } catch (err) {
      if (!retryable(err)) throw err;
      if (failures % 20 === 1) failed(err, failures);
      msg.working();
      await new Promise((r) => setTimeout(r, everyMs));
      if (loop.stopping) return false;
    }
  }
}
