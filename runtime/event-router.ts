/**
 * Tells waiting runs about the events they wait for (on the leader engine). Waits come from
 * run journal entries (`awaitEvent` / `endWait` effects, read by the scheduler host); events
 * from the events stream. A new wait also looks back over the stored events of its key, so
 * an event pushed just before the wait was known, or while no leader ran, is not missed; the
 * run counts each condition once, whatever reaches it twice.
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventWait } from '../actors/effects.js';
import { decode, encode } from './codec.js';
import { ConsumerLoop } from './consumer-loop.js';
import type { Names } from './protocol.js';
import type { Requester } from './requester.js';
import { readSubject } from './stream-reads.js';

interface StoredEvent {
  eventId: string;
  key: string;
  payload: unknown;
  at: number;
}

export class EventRouter {
  private readonly waits = new Map<string, Map<string, EventWait>>();
  private loop?: ConsumerLoop;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly requester: Requester,
    private readonly names: Names,
    private readonly logger: Logger,
  ) {}

  async start() {
    this.loop = new ConsumerLoop(
      this.js,
      this.names.streams.events,
      'router',
      (m) => this.onEvent(m),
      this.logger,
    );
    await this.loop.start();
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
    const stored = await readSubject(
      this.jsm,
      this.names.streams.events,
      this.names.eventSubject(wait.eventKey),
    );
    for (const m of stored) {
      const event = decode<StoredEvent>(m.data);
      if (event.at >= wait.sinceMs) await this.tell(wait, event);
    }
  }

  private onEvent(msg: JsMsg): void | Promise<void> {
    let event: StoredEvent;
    try {
      event = decode<StoredEvent>(msg.data);
      if (typeof event.key !== 'string' || typeof event.eventId !== 'string')
        throw new Error('not an event');
    } catch (err) {
      this.logger.warn({ reason: String(err) }, 'event router dropped a malformed event');
      msg.term();
      return;
    }
    const waiting = [...(this.waits.get(event.key)?.values() ?? [])].filter(
      (w) => event.at >= w.sinceMs,
    );
    if (waiting.length === 0) return msg.ack();
    return Promise.all(waiting.map((w) => this.tell(w, event))).then(() => msg.ack());
  }

  private async tell(wait: EventWait, event: StoredEvent) {
    const message = {
      type: 'EventReceived',
      id: `event:${event.eventId}:${wait.key}`,
      taskName: wait.taskName,
      conditionId: wait.conditionId,
      generation: wait.generation,
      eventId: event.eventId,
      payload: event.payload,
    };
    await this.requester.publish(this.names.inboxSubject('run', wait.runId), encode(message), {
      msgID: message.id,
    });
  }
}
