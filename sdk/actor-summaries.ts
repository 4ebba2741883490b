/** Reading the summaries actors store with each journal entry (crons and schedules list from them). */
import type { MsgHdrs } from '@nats-io/nats-core';
import { decodeEntry } from '../runtime/journal.js';
import { idFromToken } from '../runtime/mailbox.js';
import { refusal } from '../runtime/permissions.js';
import type { SdkConnection } from './connection.js';

const READS_AT_ONCE = 64;

/** The summary of one actor's last entry, if it has any. */
export async function lastSummary<S>(conn: SdkConnection, type: string, id: string) {
  const { jsm } = await conn.ready();
  const last = await jsm.direct
    .getMessage(conn.names.streams.journal, { last_by_subj: conn.names.journalSubject(type, id) })
    .catch(rethrow);
  return last ? summaryIn<S>(last.data, last.header) : undefined;
}

const rethrow = (err: unknown): never => {
  throw refusal(err) ?? err;
};

/**
 * Summaries stored with the last journal entry of every actor of `type`: the stream lists the
 * actors' subjects (no consumer, so no wait when there are none), then one direct get each.
 */
export async function listSummaries<S>(conn: SdkConnection, type: string) {
  return readSummaries<S>(conn, type).catch(rethrow);
}

async function readSummaries<S>(conn: SdkConnection, type: string) {
  const { jsm } = await conn.ready();
  const n = conn.names;
  const info = await jsm.streams.info(n.streams.journal, { subjects_filter: n.journalAll(type) });
  const subjects = Object.keys(info.state.subjects ?? {});
  const out: { id: string; s: S }[] = [];
  for (let i = 0; i < subjects.length; i += READS_AT_ONCE) {
    const batch = await Promise.all(
      subjects.slice(i, i + READS_AT_ONCE).map(async (subject) => {
        const last = await jsm.direct.getMessage(n.streams.journal, { last_by_subj: subject });
        const s = last ? summaryIn<S>(last.data, last.header) : undefined;
        return s ? [{ id: idFromToken(subject.split('.').slice(3).join('.')), s }] : [];
      }),
    );
    out.push(...batch.flat());
  }
  return out;
}

/** The summary in a stored entry; none when garbage was stored on the actor's subject. */
function summaryIn<S>(data: Uint8Array, headers: MsgHdrs): S | undefined {
  try {
    return decodeEntry(data, headers).s as S | undefined;
  } catch {
    return undefined;
  }
}
