/** Reading stored messages back: one subject in order, or from a time on. */
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
  for await (const m of subjectMessages(jsm, stream, subject, fromSeq)) out.push(m);
  return out;
}

/** Messages read by direct gets before a long read switches to an ordered consumer. */
export const DIRECT_READS = 32;
const FETCH_BATCH = 1000;

/**
 * The messages on `subject` from `fromSeq` on, in order: stop by breaking out. Direct gets, one
 * round trip each, for the first few (most subjects are short); a longer subject goes on with an
 * ordered consumer up to its last message (10,000 messages: about 0.1 s rather than 1.5 s), and
 * direct gets again for any stored meanwhile.
 */
export async function* subjectMessages(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  fromSeq = 1,
  /** Fewer (0) when the reader knows it wants many messages. */
  directReads = DIRECT_READS,
): AsyncGenerator<RawStored> {
  let seq = fromSeq;
  for (let read = 0; ; read++) {
    if (read === directReads) {
      for await (const m of consumedUpToLast(jsm, stream, subject, seq)) {
        yield m;
        seq = m.seq + 1;
      }
    }
    const msg = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
    if (!msg) return;
    yield { seq: msg.seq, subject: msg.subject, data: msg.data, headers: msg.header };
    seq = msg.seq + 1;
  }
}

/** The messages on `subject` from `fromSeq` to its last one now, through an ordered consumer. */
async function* consumedUpToLast(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  fromSeq: number,
): AsyncGenerator<RawStored> {
  const last = await jsm.direct.getMessage(stream, { last_by_subj: subject });
  if (!last || last.seq < fromSeq) return;
  const consumer = await jsm.jetstream().consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  // A fetch ends by itself: at the last message, or when nothing more comes for a while.
  for (;;) {
    const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      yield { seq: m.seq, subject: m.subject, data: m.data, headers: m.headers };
      if (m.seq >= last.seq) return;
    }
    if (got === 0) return;
  }
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
