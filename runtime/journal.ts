/**
 * The journal: one subject per actor in the journal stream. Appends carry the expected last
 * sequence of that subject, so of two writers only one can win.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Effect } from '../actors/effects.js';
import type { MsgHdrs } from '@nats-io/nats-core';
import { encode } from './codec.js';
import { decodeStored } from './format.js';
import type { Names } from './protocol.js';
import { readSubject } from './stream-reads.js';
import { rejected } from './rejections.js';
import { PublishError, type Requester } from './requester.js';

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

/** What stands in for an entry that does not decode: it keeps its place (its sequence), and does nothing. */
const SKIPPED: JournalEntry = { m: '', at: 0, ev: [], fx: [] };

export interface StoredEntry {
  seq: number;
  entry: JournalEntry;
}

/**
 * An actor's last entry (its summary says how it stands): undefined when it has none,
 * 'unreadable' when garbage was stored after its last turn.
 */
export async function lastEntry(
  jsm: JetStreamManager,
  names: Names,
  type: string,
  id: string,
): Promise<JournalEntry | 'unreadable' | undefined> {
  const msg = await jsm.direct.getMessage(names.streams.journal, {
    last_by_subj: names.journalSubject(type, id),
  });
  if (!msg) return undefined;
  try {
    return decodeEntry(msg.data, msg.header);
  } catch {
    return 'unreadable';
  }
}

export class AppendConflict extends Error {
  constructor(subject: string) {
    super(`another writer appended to ${subject} first`);
  }
}

export class Journal {
  constructor(
    private readonly requester: Requester,
    private readonly jsm: JetStreamManager,
    private readonly names: Names,
    private readonly logger: Logger,
  ) {}

  subject(type: string, id: string) {
    return this.names.journalSubject(type, id);
  }

  /** Entries of one actor from `fromSeq` (a stream sequence) on, in order. */
  async read(type: string, id: string, fromSeq = 1): Promise<StoredEntry[]> {
    const stored = await readSubject(
      this.jsm,
      this.names.streams.journal,
      this.subject(type, id),
      fromSeq,
    );
    return stored.map((m) => {
      try {
        return { seq: m.seq, entry: decodeEntry(m.data, m.headers) };
      } catch (err) {
        rejected(this.logger, 'journal-malformed', err);
        return { seq: m.seq, entry: SKIPPED };
      }
    });
  }

  /** The last entry's sequence, or 0 when the actor has none. */
  async lastSeq(type: string, id: string): Promise<number> {
    const msg = await this.jsm.direct.getMessage(this.names.streams.journal, {
      last_by_subj: this.subject(type, id),
    });
    return msg?.seq ?? 0;
  }

  /** Appends one entry if the actor's last sequence is still `expectedLastSeq`; returns the new one. */
  async append(
    type: string,
    id: string,
    entry: JournalEntry,
    expectedLastSeq: number,
  ): Promise<number> {
    const subject = this.subject(type, id);
    // No msgID: the expected sequence alone makes a repeated append fail, and the turn is
    // then decided again on the reloaded state (where the message shows as handled).
    try {
      const ack = await this.requester.publish(subject, encode(entry), {
        expectLastSubjectSequence: expectedLastSeq,
      });
      return ack.seq;
    } catch (err) {
      if (err instanceof PublishError && err.message.includes('wrong last sequence'))
        throw new AppendConflict(subject);
      throw err;
    }
  }
}
