/**
 * The journal: one subject per actor in the journal stream. Appends carry the expected last
 * sequence of that subject, so of two writers only one can win.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { encode } from './codec.js';
import { decodeEntry, type JournalEntry } from './journal-entries.js';
import type { Names } from './protocol.js';
import { deleteMessages, sequencesOf } from './message-deletes.js';
import { subjectMessages } from './stream-reads.js';
import { rejected } from './rejections.js';
import { PublishError, type Requester } from './requester.js';
import type { MetricsSink } from './metrics/engine-metrics.js';

/** What stands in for an entry that does not decode: it keeps its place (its sequence), and does nothing. */
const SKIPPED: JournalEntry = { m: '', at: 0, ev: [], fx: [] };

export interface StoredEntry {
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
    private readonly metrics?: Pick<MetricsSink, 'journalAppended'>,
  ) {}

  subject(type: string, id: string) {
    return this.names.journalSubject(type, id);
  }

  /** Entries of one actor from `fromSeq` (a stream sequence) on, in order. */
  async read(type: string, id: string, fromSeq = 1): Promise<StoredEntry[]> {
    const out: StoredEntry[] = [];
    for await (const e of this.entries(type, id, fromSeq)) out.push(e);
    return out;
  }

  /** The same, one at a time: a reader that has what it needs stops by breaking out. */
  async *entries(
    type: string,
    id: string,
    fromSeq = 1,
    directReads?: number,
  ): AsyncGenerator<StoredEntry> {
    const subject = this.subject(type, id);
    const stream = this.names.streams.journal;
    for await (const m of subjectMessages(this.jsm, stream, subject, fromSeq, directReads)) {
      let entry = SKIPPED;
      try {
        entry = decodeEntry(m.data, m.headers);
      } catch (err) {
        rejected(this.logger, 'journal-malformed', err);
      }
      yield { seq: m.seq, entry };
    }
  }

  /** The actor's first entry at or after stream sequence `seq`, if any. */
  async entryFrom(type: string, id: string, seq: number): Promise<StoredEntry | undefined> {
    for await (const e of this.entries(type, id, seq)) return e;
    return undefined;
  }

  /** The last entry's sequence, or 0 when the actor has none. */
  async lastSeq(type: string, id: string): Promise<number> {
    const msg = await this.jsm.direct.getMessage(this.names.streams.journal, {
      last_by_subj: this.subject(type, id),
    });
    return msg?.seq ?? 0;
  }

  /** Deletes the actor's entries below `belowSeq` (a snapshot covers them), one by one. */
  async compact(type: string, id: string, belowSeq: number): Promise<void> {
    const stream = this.names.streams.journal;
    const seqs = await sequencesOf(this.jsm, stream, this.subject(type, id), 1, belowSeq);
    await deleteMessages(this.jsm, stream, seqs);
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
      const started = this.metrics ? performance.now() : 0;
      const ack = await this.requester.publish(subject, encode(entry), {
        expectLastSubjectSequence: expectedLastSeq,
      });
      this.metrics?.journalAppended(performance.now() - started);
      return ack.seq;
    } catch (err) {
      if (err instanceof PublishError && err.message.includes('wrong last sequence'))
        throw new AppendConflict(subject);
      throw err;
    }
  }
}
