/** Reading stored messages back: one subject in order, or the last message of each subject. */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';

export interface RawStored {
  seq: number;
  subject: string;
  data: Uint8Array;
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
    out.push({ seq: msg.seq, subject: msg.subject, data: msg.data });
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
      out.set(m.subject, { seq: m.seq, subject: m.subject, data: m.data });
      if (m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(idle);
    await messages.close().catch(() => undefined);
  }
  return [...out.values()];
}
