/**
 * GET /live: server-sent events of runs changing, read from the namespace's run journal.
 *
 * One ordered consumer per engine (on `<ns>.j.run.>`, from new entries) feeds every open
 * browser: it starts with the first one and stops a little after the last one leaves, so an
 * engine nobody watches reads nothing more. Each journal entry is one turn of a run; an entry
 * whose events change what the runs page shows becomes one `run` event, with the run's summary
 * as the run actor stored it (`RunEntrySummary`). `/live?runId=<id>` gets every entry of that
 * run. On connecting, a browser gets `hello` once the consumer reads: what changed before is
 * the page's to fetch (assets/client.js does).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { RunEntrySummary } from '../actors/run/index.js';
import { decode } from '../runtime/codec.js';
import { decodeEntry } from '../runtime/journal-entries.js';
import { guarded } from '../runtime/rejections.js';
import type { Names } from '../runtime/protocol.js';
import { idOfJournalSubject } from '../runtime/subjects.js';
import type { RunStatus } from '../sdk/index.js';
import { parseRunQuery } from './run-query.js';

/** One turn of a run, as `/live` sends it (event `run`). */
export interface RunChange {
  id: string;
  /** The entry's stream sequence: a run's changes come in this order. */
  seq: number;
  at: number;
  name: string;
  status: RunStatus;
  createdAt: number;
  finishedAt: number | null;
  additionalMetadata: Record<string, string>;
  /** The turn's events, by type as stored (`TaskStarted`, `RunCompleted`, …). */
  events: string[];
  /** The run's first turn (`RunTriggered`): a new run. */
  created: boolean;
  /** Known on the first turn only. */
  parentRunId?: string | null;
  /** The class of an attempt that failed in this turn. */
  errorClass?: string;
}

/** Turns whose events change a row of the runs page (status, start, attempts, error). */
const SHOWN = new Set([
  'RunTriggered',
  'TaskStarted',
  'TaskFailed',
  'TaskSucceeded',
  'RetryScheduled',
  'RunCompleted',
  'RunFailed',
  'RunCancelled',
  'RunReplayed',
]);
/** After the last browser leaves, the consumer stays this long (a page change reconnects). */
const IDLE_STOP_MS = 10_000;
const RESTART_MS = 1_000;
const PING_MS = 15_000;
/** A browser that reads slower than this much is behind is dropped (it reconnects and refetches). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

type Listener = (change: RunChange) => void;

export class LiveRuns {
  private readonly listeners = new Set<Listener>();
  private messages?: ConsumerMessages;
  private starting?: Promise<void>;
  private idleTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: { js: JetStreamClient; names: Names; logger: Logger }) {}

  /** Adds a listener; resolves once the consumer reads (changes from then on reach it). */
  async subscribe(listener: Listener): Promise<() => void> {
    this.listeners.add(listener);
    clearTimeout(this.idleTimer);
    const unsubscribe = () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && !this.closed)
        this.idleTimer = setTimeout(() => void this.stop(), IDLE_STOP_MS);
    };
    try {
      await (this.starting ??= this.start());
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  async close() {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.listeners.clear();
    await this.stop();
  }

  private async start() {
    const { js, names, logger } = this.opts;
    const consumer = await js.consumers.get(names.streams.journal, {
      filter_subjects: names.journalAll('run'),
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await consumer.consume({
      max_messages: 500,
      // A throw in a callback would end the connection's read loop (docs/DESIGN.md, traps).
      callback: (m) => {
        try {
          this.deliver(m);
        } catch (err) {
          logger.debug({ err, seq: m.seq }, 'live: an entry it could not read');
        }
      },
    });
    this.messages = messages;
    void messages.closed().then((err) => {
      if (this.messages !== messages) return;
      this.messages = undefined;
      this.starting = undefined;
      if (err) logger.warn({ err }, 'live: the journal consumer ended');
      if (!this.closed && this.listeners.size > 0)
        setTimeout(() => {
          if (!this.closed && this.listeners.size > 0)
            (this.starting ??= this.start()).catch((e: unknown) =>
              logger.warn({ err: e }, 'live: could not restart the journal consumer'),
            );
        }, RESTART_MS);
    });
  }

  private async stop() {
    const messages = this.messages;
    this.messages = undefined;
    this.starting = undefined;
    await messages?.close().catch(() => undefined);
  }

  private deliver(m: JsMsg) {
    if (this.listeners.size === 0) return;
    const change = changeOf(m);
    if (!change) return;
    for (const listener of this.listeners) listener(change);
  }
}

function changeOf(m: JsMsg): RunChange | undefined {
  const entry = decodeEntry(m.data, m.headers);
  const s = entry.s as RunEntrySummary | undefined;
  if (!s || typeof s.status !== 'string') return undefined;
  const events = entry.ev as {
    type: string;
    parentRunId?: string;
    error?: { name?: string };
    errorClass?: string;
  }[];
  const triggered = events.find((e) => e.type === 'RunTriggered');
  const failed = events.find((e) => e.type === 'RunFailed' || e.type === 'TaskFailed');
  return {
    id: idOfJournalSubject(m.subject),
    seq: m.seq,
    at: entry.at,
    name: String(s.name),
    status: s.status as RunStatus,
    createdAt: s.createdAt,
    finishedAt: s.finishedAt ?? null,
    additionalMetadata: s.additionalMetadata ?? {},
    events: events.map((e) => e.type),
    created: triggered !== undefined,
    ...(triggered && { parentRunId: triggered.parentRunId ?? null }),
    ...(failed && { errorClass: failed.errorClass ?? failed.error?.name }),
  };
}

/** Which changes one browser gets: one run's, or those the runs page's filters could show. */
function wantedBy(url: URL): (change: RunChange) => boolean {
  const runId = url.searchParams.get('runId');
  if (runId !== null) return (c) => c.id === runId;
  const params = new URLSearchParams(url.searchParams);
  params.delete('runId');
  const { filter } = parseRunQuery(params);
  const names = filter.name === undefined ? undefined : [filter.name].flat();
  const meta = Object.entries(filter.additionalMetadata ?? {});
  return (c) =>
    c.events.some((type) => SHOWN.has(type)) &&
    (names === undefined || names.includes(c.name)) &&
    meta.every(([k, v]) => c.additionalMetadata[k] === v) &&
    (filter.parentRunId === undefined || !c.created || c.parentRunId === filter.parentRunId);
}

/** Serves one browser's event stream until it goes away. */
export async function serveLive(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  live: LiveRuns,
  streams: RunStreams,
): Promise<void> {
  const wanted = wantedBy(url);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  const send = (event: string, data: unknown) => {
    if (res.writableLength > MAX_BUFFERED_BYTES) return res.destroy();
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  let unsubscribe: (() => void) | undefined;
  let gone = false;
  const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
  const runId = url.searchParams.get('runId');
  const chunks =
    runId === null ? undefined : followStream(streams, runId, (c) => send('stream', c));
  const end = () => {
    gone = true;
    clearInterval(ping);
    unsubscribe?.();
    chunks?.unsubscribe();
  };
  req.on('close', end);
  res.on('close', end);
  try {
    unsubscribe = await live.subscribe((change) => {
      if (wanted(change)) send('run', change);
    });
  } catch {
    res.end('event: error\ndata: "the journal cannot be read now"\n\n');
    return end();
  }
  if (gone) return unsubscribe();
  send('hello', { at: Date.now() });
}

export interface RunStreams {
  nc: NatsConnection;
  names: Names;
  logger: Logger;
}

/** A run's `ctx.putStream` chunks as they come (core NATS: only those sent from now on). */
function followStream(streams: RunStreams, runId: string, send: (chunk: unknown) => void) {
  return streams.nc.subscribe(streams.names.runStream(runId), {
    callback: guarded(streams.logger, 'stream-malformed', (msg) => send(decode(msg.data))),
  });
}
