/**
 * Serves the mailbox partitions this engine holds: each message goes to its actor's host.
 * A partition's messages arrive two ways: stored in the inbox stream (durable; anyone may
 * publish there), or handed over directly by core request to the engine serving the
 * partition, which answers once the turn is stored. The direct way saves a stored write and
 * a hop; a sender that gets no answer falls back to the inbox, and the message id makes
 * the two ways safe to mix.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { EarlyMessage, type ActorHost } from './actor-host.js';
import { checkedId } from './bounds.js';
import { decode } from './codec.js';
import { ConsumerLoop, retryInHand } from './consumer-loop.js';
import { decodeStored } from './format.js';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { type DirectMessage, type DirectReply, type Names } from './protocol.js';
import { guarded, rejected } from './rejections.js';
import { reply } from './replies.js';
import { actorOfInboxSubject } from './subjects.js';
import { NoRespondersError, RequestTimeoutError } from './requester.js';

/** Messages in one direct request (the SDK sends at most 256); a longer batch is refused whole. */
const MAX_DIRECT_BATCH = 1024;
/** An error text sent back in a reply is cut to this (a zod error on a big message is big). */
const ERROR_CHARS = 500;
const short = (err: unknown) => String(err).slice(0, ERROR_CHARS);

export interface MailboxRoute {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  host: ActorHost<any, any, any>;
  schema: ZodType;
}

/** The route for an actor type named on the bus (not one of Object's own properties). */
const routeOf = (routes: Record<string, MailboxRoute>, type: unknown) =>
  typeof type === 'string' && Object.hasOwn(routes, type) ? routes[type] : undefined;

/** A failed turn comes back after this, doubling per delivery up to the cap (a poison message must not spin). */
const RETRY_DELAY_MS = 250;
const RETRY_DELAY_MAX_MS = 30_000;
/**
 * A turn that failed because the journal had no leader (a NATS cluster node died; its election
 * takes 4-9 s) is tried again this soon, however often it failed: a backoff grown during the
 * election would hold the turn for seconds after the journal is back.
 */
const UNAVAILABLE_RETRY_MS = 500;
const unavailable = (err: unknown) =>
  err instanceof NoRespondersError || err instanceof RequestTimeoutError;

export class Mailbox {
  private readonly loops = new Map<number, { loop: ConsumerLoop; direct: Subscription }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly names: Names,
    private readonly routes: Record<string, MailboxRoute>,
    private readonly logger: Logger,
  ) {}

  get partitions() {
    return [...this.loops.keys()];
  }

  async serve(partition: number) {
    if (this.loops.has(partition)) return;
    const loop: ConsumerLoop = new ConsumerLoop(
      this.js,
      this.names.streams.inbox,
      `p${partition}`,
      (m) => this.deliver(m, loop),
      this.logger,
    );
    const direct = this.nc.subscribe(this.names.directPartition(partition), {
      callback: guarded(this.logger, 'direct-failed', (msg) => this.deliverDirect(msg)),
    });
    this.loops.set(partition, { loop, direct });
    await loop.start();
  }

  /** See ConsumerLoop.pullAgain. */
  pullAgain(partition: number): Promise<boolean> {
    return this.loops.get(partition)?.loop.pullAgain() ?? Promise.resolve(false);
  }

  /** The partition's consumer loop is running (see KeepRunning). */
  healthy(partition: number) {
    return this.loops.get(partition)?.loop.healthy() ?? false;
  }

  async release(partition: number) {
    const served = this.loops.get(partition);
    this.loops.delete(partition);
    if (!served) return;
    await served.direct.drain().catch(() => undefined);
    await served.loop.stop();
  }

  async stop() {
    await Promise.all([...this.loops.keys()].map((p) => this.release(p)));
  }

  /** A direct request carries a batch of messages; the reply says, for each, stored or why not. */
  private async deliverDirect(msg: Msg) {
    let batch: DirectMessage[];
    try {
      batch = decode<DirectMessage[]>(msg.data);
      if (!Array.isArray(batch)) throw new Error('not a batch');
      if (batch.length > MAX_DIRECT_BATCH)
        throw new Error(`a batch of ${batch.length} messages; at most ${MAX_DIRECT_BATCH}`);
    } catch (err) {
      rejected(this.logger, 'direct-malformed', err);
      this.reply(msg, [{ ok: false, invalid: true, error: short(err) }]);
      return;
    }
    this.reply(msg, await Promise.all(batch.map((d) => this.deliverOne(d))));
  }

  /** A reply over max_payload goes without its error texts: the sender then uses the inbox. */
  private reply(msg: Msg, replies: DirectReply[]) {
    reply(this.nc, msg, replies, () => [], this.logger);
  }

  private async deliverOne(direct: DirectMessage): Promise<DirectReply> {
    let route: MailboxRoute | undefined;
    let message: unknown;
    try {
      route = routeOf(this.routes, direct?.type);
      if (!route) throw new Error(`no actor of type '${String(direct?.type).slice(0, 60)}'`);
      checkedId('actor id', direct.id);
      message = route.schema.parse(direct.message);
    } catch (err) {
      rejected(this.logger, 'direct-malformed', err);
      return { ok: false, invalid: true, error: short(err) };
    }
    try {
      await route.host.handle(direct.id, message);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: short(err) };
    }
  }

  private async deliver(msg: JsMsg, loop: ConsumerLoop) {
    const { type, id: actorId } = actorOfInboxSubject(msg.subject);
    const route = routeOf(this.routes, type);
    let message: unknown;
    try {
      if (!route) throw new Error(`no actor of type '${type}'`);
      checkedId('actor id', actorId);
      message = route.schema.parse(decodeStored('inbox', msg));
    } catch (err) {
      rejected(this.logger, 'inbox-malformed', err);
      msg.term();
      return;
    }
    try {
      // NATS did not answer (a stream electing its leader): tried again soon, in process.
      const handled = await retryInHand(
        loop,
        msg,
        UNAVAILABLE_RETRY_MS,
        () => route.host.handle(actorId, message),
        (err, failures) =>
          this.logger.warn({ err, subject: msg.subject, failures }, 'turn failed; will retry'),
        unavailable,
      );
      if (handled) msg.ack();
    } catch (err) {
      this.redeliver(msg, err);
    }
  }

  /** A turn that failed for another reason than NATS not answering, by a nak with backoff. */
  private redeliver(msg: JsMsg, err: unknown) {
    if (err instanceof EarlyMessage)
      this.logger.debug({ subject: msg.subject, why: err.message }, 'message came early');
    else
      this.logger.warn(
        { err, subject: msg.subject },
        'turn failed; the message will be redelivered',
      );
    msg.nak(
      Math.min(RETRY_DELAY_MAX_MS, RETRY_DELAY_MS * 2 ** Math.min(10, msg.info.deliveryCount - 1)),
    );
  }
}
