/**
 * A journal entry as stored (one actor turn per message on the actor's subject), and reading
 * actors' last entries: what a client needs of the journal. The engine's own reads and appends
 * are in journal.ts.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';
import type { Effect } from '../actors/effects.js';
import { decodeStored } from './format.js';
import type { Names } from './protocol.js';
import { idOfJournalSubject } from './subjects.js';

/** One actor turn, stored as one message. */
export interface JournalEntry {
  /** Id of the message the turn handled. */
  m: string;
  at: number;
  ev: unknown[];
  fx: Effect[];
  /** The actor's summary after the turn (see ActorDefinition.summarize). */
  s?: unknown;
}

/**
 * An entry read back from the journal stream, with the headers it was stored with (its format,
 * see format.ts). Anyone who may publish there can store garbage on an actor's subject, and a
 * newer Skein may have written it: that throws here, and readers skip it (counted, see
 * rejections.ts).
 */
export function decodeEntry(data: Uint8Array, headers: MsgHdrs | undefined): JournalEntry {
  const entry = decodeStored<JournalEntry>('journal', { data, headers });
  const typed = (items: unknown) =>
    Array.isArray(items) &&
    items.every((i) => typeof i === 'object' && i !== null && typeof i.type === 'string');
  if (
    typeof entry !== 'object' ||
    entry === null ||
    typeof entry.m !== 'string' ||
    typeof entry.at !== 'number' ||
    !typed(entry.ev) ||
    !typed(entry.fx)
  )
    throw new Error('not a journal entry');
  return entry;
}

/** An actor's last entry: 'unreadable' when garbage was stored after its last turn. */
type LastEntry = JournalEntry | 'unreadable';

const decodeOrUnreadable = (data: Uint8Array, headers: MsgHdrs | undefined): LastEntry => {
  try {
    return decodeEntry(data, headers);
  } catch {
    return 'unreadable';
  }
};

/** An actor's last entry (its summary says how it stands): undefined when it has none. */
export async function lastEntry(
  jsm: JetStreamManager,
  names: Names,
  type: string,
  id: string,
): Promise<LastEntry | undefined> {
  const msg = await jsm.direct.getMessage(names.streams.journal, {
    last_by_subj: names.journalSubject(type, id),
  });
  return msg ? decodeOrUnreadable(msg.data, msg.header) : undefined;
}

const READS_AT_ONCE = 64;

/**
 * The last entry of every actor of `type`: the stream lists the actors' subjects (no consumer,
 * so no wait when there are none), then one direct get each.
 */
export async function lastEntries(
  jsm: JetStreamManager,
  names: Names,
  type: string,
): Promise<{ id: string; entry: LastEntry }[]> {
  const info = await jsm.streams.info(names.streams.journal, {
    subjects_filter: names.journalAll(type),
  });
  const subjects = Object.keys(info.state.subjects ?? {});
  const out: { id: string; entry: LastEntry }[] = [];
  for (let i = 0; i < subjects.length; i += READS_AT_ONCE) {
    const batch = await Promise.all(
      subjects.slice(i, i + READS_AT_ONCE).map(async (subject) => {
        const msg = await jsm.direct.getMessage(names.streams.journal, { last_by_subj: subject });
        return msg
          ? [{ id: idOfJournalSubject(subject), entry: decodeOrUnreadable(msg.data, msg.header) }]
          : [];
      }),
    );
    out.push(...batch.flat());
  }
  return out;
}

/**
 * Takes the entry noted for `seq` from `noted` (kept in sequence order), forgetting the older
 * ones a reader in sequence order has passed.
 */
export function takeNoted(noted: Map<number, JournalEntry>, seq: number): JournalEntry | undefined {
  for (const s of noted.keys()) {
    if (s >= seq) break;
    noted.delete(s);
  }
  const entry = noted.get(seq);
  noted.delete(seq);
  return entry;
}
