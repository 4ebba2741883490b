/**
 * The journal: one subject per actor in the journal stream. Appends carry the expected last
 * sequence of that subject, so of two writers only one can win.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { encode } from './codec.js';
import { decodeEntry, type JournalEntry } from './journal-entries.js';
import type { Names } from './protocol.js';
import { readSubject } from './stream-reads.js';
import { rejected } from './rejections.js';
import { PublishError, type Requester } from './requester.js';

/** What stands in for an entry that does not decode: it keeps its place (its sequence), and does nothing. */
const SKIPPED: JournalEntry = { m: '', at: 0, ev: [], fx: [] };

interface StoredEntry {
  seq: number;
  entry: JournalEntry;
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
