/**
 * Routes each pushed event (on the leader engine): every task or workflow whose `onEvents`
 * matches its key gets a run, and waiting runs hear of it. The run's id is derived from the
 * event id and the target's name, so an event routed twice (redelivered, or pushed again
 * with the same id) starts each run once. Waits come from
 * run journal entries (`awaitEvent` / `endWait` effects, read by the journal tail); events
 * from the events stream. A new wait also reads the events of its key stored since it began
 * (or its `since`), so an event pushed before the router knew of the wait, or while no leader
 * ran, is not missed; the run counts each condition once, whatever reaches it twice. An
 * event's time is its JetStream timestamp.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventWait } from '../actors/effects.js';
import { encode } from './codec.js';
import { checkedId } from './bounds.js';
import { ConsumerLoop, retryInHand } from './consumer-loop.js';
import { decodeStored } from './format.js';
import { rejected } from './rejections.js';
import type { Names } from './protocol.js';
import type { RegistryView } from './registry-view.js';
import type { Requester } from './requester.js';
import type { RunStarter } from './run-starter.js';
import { RouterProgressWriter } from './router-progress.js';
import { restartRouterConsumer } from './setup.js';
import { readSince, type RawStored } from './stream-reads.js';
import { EVENT_META, eventReceivedId, eventRunId } from './ids.js';
import { traceContextOr, type StoredEvent } from './protocol.js';
import { inputInlineLimit, PayloadGoneError, type Payloads } from './payloads.js';
import { ValidationError } from './errors.js';
import type { MetricsSink } from './metrics/engine-metrics.js';

const NO_PAYLOAD = Symbol('no payload');

/** A failed routing comes back after this (runs it created already are not created again). */
const RETRY_DELAY_MS = 1000;

const matchesScope = (wait: EventWait, event: StoredEvent) =>
  wait.scope === undefined || wait.scope === event.scope;

export class EventRouter {
  private readonly waits = new Map<string, Map<string, EventWait>>();
  private loop?: ConsumerLoop;
  private progress?: RouterProgressWriter;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly requester: Requester,
    private readonly names: Names,
    private readonly logger: Logger,
    private readonly registry: RegistryView,
    private readonly starter: RunStarter,
    private readonly payloads: Payloads,
    private readonly metrics?: Pick<MetricsSink, 'eventRouted'>,
  ) {}

  async start() {
    await restartRouterConsumer(this.jsm, this.names);
    const loop: ConsumerLoop = new ConsumerLoop(
      this.js,
      this.names.streams.events,
      'router',
      (m) => this.onEvent(m, loop),
      this.logger,
    );
    this.loop = loop;
    await this.loop.start();
    this.progress = new RouterProgressWriter(this.js, this.jsm, this.names, this.logger);
    await this.progress.start();
  }

  /** See ConsumerLoop.pullAgain. */
  pullAgain(): Promise<boolean> {
    return this.loop?.pullAgain() ?? Promise.resolve(false);
  }

  /** Its consumer loop is running (see KeepRunning). */
  healthy() {
    return this.loop?.healthy() ?? false;
  }

  async stop() {
    this.progress?.stop();
    this.progress = undefined;
    await this.loop?.stop();
    this.loop = undefined;
    this.waits.clear();
  }

  add(wait: EventWait) {
    let forKey = this.waits.get(wait.eventKey);
    if (!forKey) this.waits.set(wait.eventKey, (forKey = new Map()));
    if (forKey.has(wait.key)) return;
    forKey.set(wait.key, wait);
    void this.lookBack(wait).catch((err: unknown) =>
      this.logger.warn({ err, wait: wait.key }, 'event look-back failed'),
    );
  }

  remove(waitKey: string) {
    for (const [eventKey, forKey] of this.waits) {
      if (forKey.delete(waitKey) && forKey.size === 0) this.waits.delete(eventKey);
    }
  }

  private async lookBack(wait: EventWait) {
    const stream = this.names.streams.events;
    const subject = this.names.eventSubject(wait.eventKey);
    for await (const m of readSince(this.js, this.jsm, stream, subject, wait.sinceMs)) {
      const event = storedEvent(m, this.logger);
      if (event && matchesScope(wait, event)) await this.tell(wait, event, m.at);
    }
  }

  private onEvent(msg: JsMsg, loop: ConsumerLoop): void | Promise<void> {
    let event: StoredEvent;
    try {
      event = decodeStored<StoredEvent>('event', msg);
      if (
        typeof event.key !== 'string' ||
        typeof event.eventId !== 'string' ||
        typeof event.at !== 'number'
      )
        throw new Error('not an event');
      checkedId('event id', event.eventId);
      // Anyone may publish to the stream: keep only what a run may carry.
      const meta = event.additionalMetadata;
      if (
        typeof meta !== 'object' ||
        meta === null ||
        Object.values(meta).some((v) => typeof v !== 'string')
      )
        event.additionalMetadata = {};
      if (![1, 2, 3].includes(event.priority as number)) event.priority = undefined;
    } catch (err) {
      rejected(this.logger, 'event-malformed', err);
      msg.term();
      return;
    }
    const storedAt = Math.floor(msg.info.timestampNanos / 1e6);
    return this.routeUntilDone(msg, event, storedAt, loop);
  }

  /** Routes `event`, trying again in process until it is routed or the loop stops. */
  private async routeUntilDone(msg: JsMsg, event: StoredEvent, at: number, loop: ConsumerLoop) {
    const routed = await retryInHand(
      loop,
      msg,
      RETRY_DELAY_MS,
      () => this.route(event, at),
      (err, failures) =>
        this.logger.warn(
          { err, eventId: event.eventId, failures },
          'event routing failed; will retry',
        ),
    );
    if (!routed) return;
    msg.ack();
    this.metrics?.eventRouted(Date.now() - at);
  }

  /** `at`: the event's JetStream timestamp, its time for the waits it may end. */
  private async route(event: StoredEvent, at: number) {
    await this.registry.fresh();
    const waiting = [...(this.waits.get(event.key)?.values() ?? [])].filter(
      (w) => at >= w.sinceMs && matchesScope(w, event),
    );
    await Promise.all([
      ...this.registry.subscribersOf(event.key).map(async (reg) => {
        const runId = eventRunId(event.eventId, reg.spec.name);
        const limit = inputInlineLimit(this.payloads.inlineBytes, reg.spec);
        const input = await this.adopted(event, runId, 'event-input', limit);
        if (input === NO_PAYLOAD) return;
        await this.starter.start({
          runId,
          spec: reg.spec,
          input,
          additionalMetadata: {
            ...event.additionalMetadata,
            [EVENT_META.id]: event.eventId,
            [EVENT_META.key]: event.key,
          },
          priority: event.priority,
          // The worker checks it with the target's inputValidator: bad input fails that run.
          unparsedInput: true,
          at: event.at,
          traceLink: traceContextOr(event.trace),
        });
      }),
      ...waiting.map((w) => this.tell(w, event, at)),
    ]);
  }

  /**
   * The event's payload for run `runId`: a stored one is copied to the run's own objects (the
   * run may outlive the event). One too large or gone is refused for good, not retried.
   */
  private async adopted(event: StoredEvent, runId: string, part: string, inlineBytes?: number) {
    try {
      return await this.payloads.adopt(event.payload, runId, part, inlineBytes);
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof PayloadGoneError)) throw err;
      rejected(this.logger, 'event-payload', err);
      return NO_PAYLOAD;
    }
  }

  private async tell(wait: EventWait, event: StoredEvent, at: number) {
    const payload = await this.adopted(event, wait.runId, `event-${event.eventId}`);
    if (payload === NO_PAYLOAD) return;
    const message = {
      type: 'EventReceived',
      id: eventReceivedId(event.eventId, wait.key),
      taskName: wait.taskName,
      conditionId: wait.conditionId,
      generation: wait.generation,
      eventId: event.eventId,
      payload,
      at,
    };
    await this.requester.publish(this.names.inboxSubject('run', wait.runId), encode(message), {
      msgID: message.id,
    });
  }
}

/** A stored event read back, or undefined (counted) when garbage was stored on its subject. */
function storedEvent(stored: RawStored, logger: Logger): StoredEvent | undefined {
  try {
    const event = decodeStored<StoredEvent>('event', stored);
    if (typeof event?.eventId !== 'string' || typeof event.at !== 'number')
      throw new Error('not an event');
    checkedId('event id', event.eventId);
    return event;
  } catch (err) {
    rejected(logger, 'event-malformed', err);
    return undefined;
  }
}
