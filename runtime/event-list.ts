/**
 * events.list: the events stream read newest first, and the runs each event started. The
 * stream is read from its end backwards in windows of sequences (each by direct gets that jump
 * to the next message on the subject), until enough events are found. An event's runs come
 * from the run index: the event router gives each run it starts the event's id in its
 * metadata, so nothing more is written per event or per run.
 */
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { decode, encode } from './codec.js';
import { decodeStored } from './format.js';
import { EVENT_META } from './ids.js';
import type { Names, StoredEvent } from './protocol.js';
import type { ApiReply, EventView, eventListSchema } from './protocol-api.js';
import { rejected } from './rejections.js';

export interface EventListDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  names: Names;
  logger: Logger;
}

const DEFAULT_LIMIT = 50;
const FIRST_WINDOW = 64;
const LOOKUPS_AT_ONCE = 16;
const LOOKUP_TIMEOUT_MS = 5000;

export async function listEvents(
  d: EventListDeps,
  q: z.output<typeof eventListSchema>,
): Promise<EventView[]> {
  const subject = q.key === undefined ? d.names.eventsAll : d.names.eventSubject(q.key);
  const stored = await newestStored(d.jsm, d.names.streams.events, subject, {
    limit: q.limit ?? DEFAULT_LIMIT,
    since: q.since,
  });
  const events = stored.flatMap((m) => {
    const event = eventOf(m, d.logger);
    return event ? [{ event, at: m.time.getTime() }] : [];
  });
  const views: EventView[] = events.map(({ event, at }) => ({
    eventId: event.eventId,
    key: event.key,
    payload: event.payload,
    additionalMetadata: event.additionalMetadata ?? {},
    at,
    runIds: [],
  }));
  for (let i = 0; i < views.length; i += LOOKUPS_AT_ONCE) {
    await Promise.all(
      views.slice(i, i + LOOKUPS_AT_ONCE).map(async (v) => {
        v.runIds = await runsStartedBy(d, v.eventId);
      }),
    );
  }
  return views;
}

/** Messages on `subject`, newest first: at most `limit`, none stored before `since`. */
async function newestStored(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  q: { limit: number; since?: number },
): Promise<StoredMsg[]> {
  const { first_seq: first, last_seq: last } = (await jsm.streams.info(stream)).state;
  const out: StoredMsg[] = [];
  let end = last;
  let window = Math.max(q.limit, FIRST_WINDOW);
  while (out.length < q.limit && end >= Math.max(first, 1)) {
    const start = Math.max(first, 1, end - window + 1);
    const chunk: StoredMsg[] = [];
    for (let seq = start; ;) {
      const m = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
      if (!m || m.seq > end) break;
      chunk.push(m);
      seq = m.seq + 1;
    }
    for (const m of chunk.reverse()) {
      if (q.since !== undefined && m.time.getTime() < q.since) return out;
      out.push(m);
      if (out.length === q.limit) return out;
    }
    end = start - 1;
    window *= 4;
  }
  return out;
}

/** A stored event, or undefined (counted) for garbage on its subject. */
function eventOf(m: StoredMsg, logger: Logger): StoredEvent | undefined {
  try {
    const event = decodeStored<StoredEvent>('event', { data: m.data, headers: m.header });
    if (typeof event?.eventId !== 'string' || typeof event.key !== 'string')
      throw new Error('not an event');
    return event;
  } catch (err) {
    rejected(logger, 'event-malformed', err);
    return undefined;
  }
}

/** The runs an event started, asked of the leader's run index. */
async function runsStartedBy(d: EventListDeps, eventId: string): Promise<string[]> {
  const query = { additionalMetadata: { [EVENT_META.id]: eventId }, limit: 1000 };
  const failed = (why: unknown) =>
    new Error(
      `events.list: the run index (on the engine leading namespace '${d.names.ns}') did not say which runs event ${eventId} started: ${String(why)}`,
    );
  const answer = await d.nc
    .request(d.names.leaderApi('runs.page'), encode(query), { timeout: LOOKUP_TIMEOUT_MS })
    .catch((err: unknown) => Promise.reject(failed(err)));
  const body = decode<ApiReply<'runs.page'>>(answer.data);
  if (body.error) throw failed(body.error.message);
  return body.ok.runs.map((r) => r.id);
}
