/** Reading the summaries actors store with each journal entry (crons and schedules list from them). */
import { lastEntries, lastEntry, type JournalEntry } from '../runtime/journal-entries.js';
import { refusal } from '../runtime/permissions.js';
import type { SdkConnection } from './connection.js';

/** The summary of one actor's last entry, if it has any. */
export async function lastSummary<S>(conn: SdkConnection, type: string, id: string) {
  const { jsm } = await conn.ready();
  const last = await lastEntry(jsm, conn.names, type, id).catch(rethrow);
  return last ? summaryIn<S>(last) : undefined;
}

const rethrow = (err: unknown): never => {
  throw refusal(err) ?? err;
};

/** Summaries stored with the last journal entry of every actor of `type`. */
export async function listSummaries<S>(conn: SdkConnection, type: string) {
  const { jsm } = await conn.ready();
  const entries = await lastEntries(jsm, conn.names, type).catch(rethrow);
  return entries.flatMap(({ id, entry }) => {
    const s = summaryIn<S>(entry);
    return s ? [{ id, s }] : [];
  });
}

/** The summary in a stored entry; none when garbage was stored on the actor's subject. */
function summaryIn<S>(entry: JournalEntry | 'unreadable'): S | undefined {
  return entry === 'unreadable' ? undefined : (entry.s as S | undefined);
}
