/** `skein.events`: pushing events. Each is stored in the events stream before the call resolves. */
import { randomUUID } from 'node:crypto';
import { encode } from '../runtime/codec.js';
import type { SdkConnection } from './connection.js';
import { idProblem } from '../runtime/bounds.js';
import { ValidationError } from './errors.js';
import { toJson } from './json.js';
import { activeTraceContext } from './tracing.js';
import { checkMetadata, checkPriority } from './trigger.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import type { StoredEvent } from '../runtime/protocol.js';

export interface PushOptions {
  additionalMetadata?: Record<string, string>;
  priority?: number;
  /** Narrows which waiters the event is for (e.g. a tenant or a user id). */
  scope?: string;
  /**
   * The event's id (default: a new UUID). Pushing an id again triggers nothing new: each
   * subscriber's run is made from the event id, and a repeat within 2 minutes is not stored.
   */
  eventId?: string;
}

export type { StoredEvent };

/** A pushed event as `events.list` shows it. */
export interface EventInfo {
  eventId: string;
  key: string;
  payload: unknown;
  additionalMetadata: Record<string, string>;
  /** When it was stored (its time for event conditions too). */
  at: Date;
  /** The runs it started: one per task or workflow whose `onEvents` has its key. */
  runIds: string[];
}

export interface EventListQuery {
  /** Only events pushed under this key. */
  key?: string;
  /** Only events stored at or after this. */
  since?: Date;
  /** At most this many (default 50, at most 1000). */
  limit?: number;
}

const LIST_QUERY = optionNames<EventListQuery>({ key: true, since: true, limit: true });

const PUSH_OPTIONS = {
  additionalMetadata: true,
  priority: true,
  scope: true,
  eventId: true,
} as const satisfies Record<keyof PushOptions, true>;
const BULK_ITEM = optionNames<{ payload: unknown } & PushOptions>({
  ...PUSH_OPTIONS,
  payload: true,
});

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.trim().length === 0 || idProblem('event key', key)) {
    throw new ValidationError(
      `event key must be a non-empty string of at most 255 bytes without control characters, got ${JSON.stringify(key)?.slice(0, 80)}`,
    );
  }
  return key;
}

export class EventsClient {
  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(private readonly conn: SdkConnection) {}

  async push(key: string, payload: unknown, opts: PushOptions = {}): Promise<{ eventId: string }> {
    checkOptions(opts, Object.keys(PUSH_OPTIONS), 'events.push options');
    const [eventId] = (await this.bulkPush(key, [{ payload, ...opts }])).eventIds;
    return { eventId };
  }

  /** Events still kept (see the engine's `eventRetentionDays`), newest first. */
  async list(query: EventListQuery = {}): Promise<EventInfo[]> {
    checkOptions(query, LIST_QUERY, 'events.list');
    const { key, since, limit } = query;
    if (key !== undefined) checkKey(key);
    if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime())))
      throw new ValidationError(`events.list: since must be a Date, got ${String(since)}`);
    if (
      limit !== undefined &&
      (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000)
    )
      throw new ValidationError(
        `events.list: limit must be a whole number from 1 to 1000, got ${String(limit)}`,
      );
    const events = await this.conn.api('events.list', { key, since: since?.getTime(), limit });
    return events.map((e) => ({ ...e, at: new Date(e.at) }));
  }

  /** Pushes several events under one key; every one is checked before any is stored. */
  async bulkPush(
    key: string,
    items: ({ payload: unknown } & PushOptions)[],
  ): Promise<{ eventIds: string[] }> {
    checkKey(key);
    if (!Array.isArray(items))
      throw new ValidationError('bulkPush takes an array of { payload, additionalMetadata? }');
    const c = await this.conn.ready();
    const trace = activeTraceContext();
    const events = items.map((item, i): StoredEvent => {
      const where = items.length > 1 ? `event ${i}` : 'event';
      checkOptions(item, BULK_ITEM, where);
      if (item.scope !== undefined && typeof item.scope !== 'string')
        throw new ValidationError(`${where}: scope must be a string`);
      if (
        item.eventId !== undefined &&
        (typeof item.eventId !== 'string' || !/^[A-Za-z0-9_:.-]{1,128}$/.test(item.eventId))
      )
        throw new ValidationError(
          `${where}: eventId must be 1-128 letters, digits, '_', ':', '.' or '-', got ${JSON.stringify(item.eventId)}`,
        );
      return {
        eventId: item.eventId ?? randomUUID(),
        key,
        payload: toJson(item.payload, `${where} payload`),
        additionalMetadata: checkMetadata(item.additionalMetadata),
        priority:
          item.priority === undefined
            ? undefined
            : checkPriority(item.priority, `${where} priority`),
        scope: item.scope,
        at: Date.now(),
        ...(trace && { trace }),
      };
    });
    const what = (i: number) => (items.length > 1 ? `event ${i} payload` : 'event payload');
    const payloads = events.map((e, i) => {
      const bytes = encode(e.payload);
      c.payloads.checkSize(bytes.length, what(i));
      return bytes;
    });
    // A large payload is stored as an object first; the event refers to it.
    for (const [i, e] of events.entries())
      e.payload = await c.payloads.offload(e.payload, { eventId: e.eventId }, what(i), payloads[i]);
    const encoded = events.map((e) => encode(e));
    const subject = this.conn.names.eventSubject(key);
    await Promise.all(
      encoded.map((bytes, i) => c.requester.publish(subject, bytes, { msgID: events[i].eventId })),
    );
    return { eventIds: events.map((e) => e.eventId) };
  }
}
