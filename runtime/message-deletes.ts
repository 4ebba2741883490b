/**
 * Deleting stored messages one by one, by sequence. Never purge by subject (nor roll up) on a
 * stream a wide-filter durable consumer reads: nats-server 2.9.10 then makes that consumer skip
 * other subjects' messages (docs/DESIGN.md, traps).
 */
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

const DELETES_AT_ONCE = 16;

/** Deletes these messages of `stream`; one already gone counts as deleted. */
export async function deleteMessages(
  jsm: JetStreamManager,
  stream: string,
  seqs: readonly number[],
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < seqs.length) await deleteMessage(jsm, stream, seqs[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(DELETES_AT_ONCE, seqs.length) }, lane));
}

export async function deleteMessage(jsm: JetStreamManager, stream: string, seq: number) {
  try {
    // No erase: overwriting the bytes costs a write and hides nothing from whoever reads the disk.
    await jsm.streams.deleteMessage(stream, seq, false);
  } catch (err) {
    if (isAlreadyGone(err)) return;
    throw err;
  }
}

// A run deleted again (a new leader's index, loaded from a checkpoint older than the deletion,
// still lists it) finds its messages gone: that is success, or the sweeper retries it forever.
// The server says so with more than one code ("no message found", "sequence N not found").
function isAlreadyGone(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  if (err.code === JetStreamApiCodes.NoMessageFound) return true;
  return /^(no message found|sequence \d+ not found)$/i.test(err.message);
}

/** The sequences of the messages stored on `subject` from `fromSeq` on, below `belowSeq`. */
export async function sequencesOf(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  fromSeq = 1,
  belowSeq = Number.MAX_SAFE_INTEGER,
): Promise<number[]> {
  const seqs: number[] = [];
  for (let seq = fromSeq; seq < belowSeq;) {
    const msg = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
    if (!msg || msg.seq >= belowSeq) break;
    seqs.push(msg.seq);
    seq = msg.seq + 1;
  }
  return seqs;
}

/** The stream that holds a KV bucket. */
export const kvStream = (bucket: string) => `KV_${bucket}`;
