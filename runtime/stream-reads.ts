/** Reading stored messages back: one subject in order, or the last message of each subject. */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';

export interface RawStored {
  seq: number;
  subject: string;
  data: Uint8Array;
  /** Among them the format it was written in (format.ts). */
  headers?: MsgHdrs;
}

/** Every message on `subject` from `fromSeq` on, by direct gets (cheap for short subjects). */
export async function readSubject(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  fromSeq = 1,
): Promise<RawStored[]> {
  const out: RawStored[] = [];
  let seq = fromSeq;
  for (;;) {
    const msg = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
    if (!msg) return out;
    out.push({ seq: msg.seq, subject: msg.subject, data: msg.data, headers: msg.header });
    seq = msg.seq + 1;
  }
}

/** The last message of every subject matching `filter`, through an ordered consumer. */
export async function readLastPerSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<RawStored[]> {
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return [];
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  // Messages appended while this reads come too: a subject seen twice keeps its newest.
  const out = new Map<string, RawStored>();
  const messages = await consumer.consume({ max_messages: 1000 });
  const idle = setTimeout(() => void messages.close(), 1000);
  try {
    for await (const m of messages) {
      out.set(m.subject, { seq: m.seq, subject: m.subject, data: m.data, headers: m.headers });
      if (m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(idle);
    await messages.close().catch(() => undefined);
  }
  return [...out.values()];
}

/** A stored message with its JetStream timestamp (ms). */
interface TimedStored extends RawStored {
  at: number;
}

/**
 * The messages on `subject` stamped at or after `sinceMs`, in order, up to the last one stored
 * when the read began (an ordered consumer from that time: the server seeks, nothing earlier
 * is read). Stop early by breaking out of the loop.
 */
export async function* readSince(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  sinceMs: number,
): AsyncGenerator<TimedStored> {
  const last = await jsm.direct.getMessage(stream, { last_by_subj: subject });
  if (!last || last.time.getTime() < sinceMs) return;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(sinceMs).toISOString(),
  });
  const messages = await consumer.consume({ max_messages: 256 });
  // Should the last message go (retention) before it is read, stop once nothing comes.
  let idle = setTimeout(() => void messages.close(), 2000);
  try {
    for await (const m of messages) {
      clearTimeout(idle);
      const at = Math.floor(m.info.timestampNanos / 1e6);
      if (at >= sinceMs)
        yield { seq: m.seq, subject: m.subject, data: m.data, headers: m.headers, at };
      if (m.seq >= last.seq || m.info.pending === 0) return;
      idle = setTimeout(() => void messages.close(), 2000);
    }
  } finally {
    clearTimeout(idle);
    await messages.close().catch(() => undefined);
  }
}
