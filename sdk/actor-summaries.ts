/** Reading the summaries actors store with each journal entry (crons and schedules list from them). */
import { decode } from '../runtime/codec.js';
import type { JournalEntry } from '../runtime/journal.js';
import { idFromToken } from '../runtime/mailbox.js';
import { readLastPerSubject } from '../runtime/stream-reads.js';
import type { SdkConnection } from './connection.js';

/** The summary of one actor's last entry, if it has any. */
export async function lastSummary<S>(conn: SdkConnection, type: string, id: string) {
  const { jsm } = await conn.ready();
  const last = await jsm.direct.getMessage(conn.names.streams.journal, {
    last_by_subj: conn.names.journalSubject(type, id),
  });
  return last ? (decode<JournalEntry>(last.data).s as S | undefined) : undefined;
}

/** Summaries stored with the last journal entry of every actor of `type`. */
export async function listSummaries<S>(conn: SdkConnection, type: string) {
  const { js, jsm } = await conn.ready();
  const n = conn.names;
  const last = await readLastPerSubject(js, jsm, n.streams.journal, n.journalAll(type));
  return last.flatMap((m) => {
    const s = decode<JournalEntry>(m.data).s as S | undefined;
    return s ? [{ id: idFromToken(m.subject.split('.').slice(3).join('.')), s }] : [];
  });
}
