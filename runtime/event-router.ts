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
import { ConsumerLoop } from './consumer-loop.js';
import { decodeStored } from './format.js';
import { rejected } from './rejections.js';
import type { Names } from './protocol.js';
import type { RegistryView } from './registry-view.js';
import type { Requester } from './requester.js';
import type { RunStarter } from './run-starter.js';
import { restartRouterConsumer } from './setup.js';
import { readSince, type RawStored } from './stream-reads.js';
import { eventReceivedId, eventRunId } from './ids.js';
import type { StoredEvent } from './protocol.js';

/** A failed routing comes back after this (runs it created already are not created again). */
const RETRY_DELAY_MS = 1000;

const matchesScope = (wait: EventWait, event: StoredEvent) =>
  wait.scope === undefined || wait.scope === event.scope;

export class EventRouter {
  private readonly waits = new Map<string, Map<string, EventWait>>();
  private loop?: ConsumerLoop;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly requester: Requester,
    private readonly names: Names,
    private readonly logger: Logger,
    private readonly registry: RegistryView,
    private readonly starter: RunStarter,
  ) {}

  async start() {
    await restartRouterConsumer(this.jsm, this.names);
    this.loop = new ConsumerLoop(
      this.js,
      this.names.streams.events,
      'router',
      (m) => this.onEvent(m),
      this.logger,
    );
    await this.loop.start();
  }

  /** Its consumer loop is running (see KeepRunning). */
  healthy() {
    return this.loop?.healthy() ?? false;
  }

  async stop() {
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

  private onEvent(msg: JsMsg): void | Promise<void> {
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
    return this.route(event, Math.floor(msg.info.timestampNanos / 1e6)).then(
      () => msg.ack(),
      (err: unknown) => {
        this.logger.warn({ err, eventId: event.eventId }, 'event routing failed; will retry');
        msg.nak(RETRY_DELAY_MS);
      },
    );
  }

  /** `at`: the event's JetStream timestamp, its time for the waits it may end. */
  private async route(event: StoredEvent, at: number) {
    await this.registry.fresh();
    const waiting = [...(this.waits.get(event.key)?.values() ?? [])].filter(
      (w) => at >= w.sinceMs && matchesScope(w, event),
    );
    await Promise.all([
      ...this.registry.subscribersOf(event.key).map((reg) =>
        this.starter.start({
          runId: eventRunId(event.eventId, reg.spec.name),
          spec: reg.spec,
          input: event.payload,
          additionalMetadata: {
            ...event.additionalMetadata,
            skein__event_id: event.eventId,
            skein__event_key: event.key,
          },
          priority: event.priority,
          // The worker checks it with the target's inputValidator: bad input fails that run.
          unparsedInput: true,
          at: event.at,
        }),
      ),
      ...waiting.map((w) => this.tell(w, event, at)),
    ]);
  }

  private async tell(wait: EventWait, event: StoredEvent, at: number) {
    const message = {
      type: 'EventReceived',
      id: eventReceivedId(event.eventId, wait.key),
      taskName: wait.taskName,
      conditionId: wait.conditionId,
      generation: wait.generation,
      eventId: event.eventId,
      payload: event.payload,
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
