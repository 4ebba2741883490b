/**
 * Checks a wait's deadline before the run judges it (the `checkEvents` effect of a run's
 * turn, see actors/run/event-time.ts): once the clock has reached the check's horizon, reads
 * the events stored since the wait began for each of its event conditions, up to the events
 * stream's last sequence, and tells the run the first that matches each (EventsChecked). The
 * run so knows every event stored before the deadline, whether the event router has routed
 * it yet or not (it may be behind, or a new leader may not have started it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { EventCheck, FoundEvent } from '../actors/effects.js';
import { eventMatches } from '../actors/run/conditions.js';
import type { Clock } from './clock.js';
import { encode } from './codec.js';
import type { StoredEvent } from './protocol.js';
import { decodeStored } from './format.js';
import type { Names } from './protocol.js';
import type { Requester } from './requester.js';
import { readSince } from './stream-reads.js';

/** The horizon is the time a deadline came, a few ms ahead at most: never wait long for it. */
const MAX_HORIZON_WAIT_MS = 1000;

export class EventChecker {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly requester: Requester,
    private readonly names: Names,
    private readonly clock: Clock,
  ) {}

  async check(check: EventCheck): Promise<void> {
    const ahead = check.horizon - this.clock.now();
    if (ahead > 0) await sleep(Math.min(ahead, MAX_HORIZON_WAIT_MS));
    const found = await Promise.all(check.conditions.map((c) => this.first(c)));
    const message = {
      type: 'EventsChecked',
      id: check.id,
      taskName: check.taskName,
      generation: check.generation,
      position: check.position,
      horizon: check.horizon,
      found: found.filter((f) => f !== undefined),
    };
    await this.requester.publish(this.names.inboxSubject('run', check.runId), encode(message), {
      msgID: check.id,
    });
  }

  /** The first event stored since the condition's wait began that it takes. */
  private async first(c: EventCheck['conditions'][number]): Promise<FoundEvent | undefined> {
    const subject = this.names.eventSubject(c.eventKey);
    const stream = this.names.streams.events;
    for await (const m of readSince(this.js, this.jsm, stream, subject, c.sinceMs)) {
      let event: StoredEvent;
      try {
        event = decodeStored<StoredEvent>('event', m);
      } catch {
        continue; // anyone may publish to the stream: the router drops what is not an event
      }
      if (typeof event?.eventId !== 'string') continue;
      if (c.scope !== undefined && event.scope !== c.scope) continue;
      if (!eventMatches(c.expression, event.payload)) continue;
      return {
        conditionId: c.conditionId,
        eventId: event.eventId,
        at: m.at,
        payload: event.payload,
      };
    }
    return undefined;
  }
}
