/**
 * Reads the journal into the run index, in two modes:
 *
 * - **Catching up**: an ordered consumer of its own on the whole journal from the checkpoint's
 *   sequence + 1 (other actors' entries skipped undecoded), until it has nothing pending.
 * - **Following**: then it closes that consumer and takes each run entry the scheduler's
 *   journal tail reads (`follow`), already delivered and decoded: a second delivery of every
 *   entry cost the engine a quarter more CPU per task (bench/README.md "Run index").
 *
 * Entries the tail hands over while catching up are kept, and those past the consumer's last
 * are applied at the switch, so none falls between the two.
 */
import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { PULL_EXPIRES_MS } from '../consumer-loop.js';
import { decodeEntry, takeNoted, type JournalEntry } from '../journal-entries.js';
import type { Names } from '../protocol.js';
import { idFromToken } from '../subjects.js';
import type { RunIndexStore } from './store.js';

/** How long a query waits for the index to reach the journal's end before it asks its reader how far it got. */
const SOON_MS = 50;
/** How often it asks again. */
const RECHECK_MS = 250;
/** Entries kept from the tail while catching up; past this they are dropped and caught up again. */
const MAX_KEPT = 50_000;

export interface JournalSource {
  /** The tail reads entries (false while it is stopped or restarting). */
  healthy(): boolean;
  /** Its consumer's last delivered sequence and how many entries it has not delivered yet. */
  position(): Promise<{ delivered: number; pending: number } | undefined>;
}

export class RunIndexReader {
  private consumer?: Consumer;
  private messages?: ConsumerMessages;
  private ended = false;
  private running = false;
  private following = false;
  /** Run entries the tail handed over while catching up. */
  private kept: { seq: number; runId: string; entry: JournalEntry }[] = [];
  private waiters: { seq: number; resolve: () => void }[] = [];
  /** Entries this engine appended or decoded elsewhere, so reading them back needs no decoding. */
  private readonly noted = new Map<number, JournalEntry>();
  private readonly runPrefix: string;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: Names,
    private readonly store: RunIndexStore,
    private readonly logger: Logger,
    private readonly source?: JournalSource,
  ) {
    this.runPrefix = names.journalAll('run').slice(0, -1);
  }

  async start() {
    this.ended = false;
    this.running = true;
    this.following = false;
    this.kept = [];
    this.consumer = await this.js.consumers.get(this.names.streams.journal, {
      filter_subjects: `${this.names.ns}.j.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.store.appliedSeq + 1,
    });
    // A callback, not an async iterator: a third less CPU per entry.
    const messages = await this.consumer.consume({
      max_messages: 1000,
      expires: PULL_EXPIRES_MS,
      callback: (m) => {
        // A throw here would end the connection's read loop (docs/DESIGN.md, traps).
        try {
          if (this.following) return;
          if (m.subject.startsWith(this.runPrefix)) {
            const entry = this.takeNoted(m.seq) ?? decoded(m.data, m.headers);
            const runId = idFromToken(m.subject.slice(this.runPrefix.length));
            if (entry) this.store.apply(runId, m.seq, entry);
          }
          this.store.appliedSeq = Math.max(this.store.appliedSeq, m.seq);
          // Only while the tail runs: it then delivers every entry after its ack floor, which is
          // at most this one.
          if (m.info.pending === 0 && this.source?.healthy()) this.switchToFollowing();
          if (this.waiters.length > 0) this.wake();
        } catch (err) {
          this.logger.warn({ err, seq: m.seq }, 'run index could not fold an entry');
        }
      },
    });
    this.messages = messages;
    void messages.closed().then((err) => {
      if (err) this.logger.warn({ err }, 'run index reader ended');
      if (!this.following) this.ended = true;
    });
  }

  healthy() {
    if (!this.running) return false;
    return this.following ? (this.source?.healthy() ?? false) : !this.ended;
  }

  async stop() {
    this.running = false;
    this.following = false;
    await this.messages?.close().catch(() => undefined);
    this.messages = undefined;
    this.consumer = undefined;
    this.noted.clear();
    this.kept = [];
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /** A run entry the journal tail read (`subject` its journal subject). */
  follow(seq: number, subject: string, entry: JournalEntry) {
    if (!this.running || !subject.startsWith(this.runPrefix)) return;
    if (seq <= this.store.appliedSeq) return;
    const runId = idFromToken(subject.slice(this.runPrefix.length));
    if (this.following) {
      this.store.apply(runId, seq, entry);
      if (this.waiters.length > 0) this.wake();
      return;
    }
    // Caught up later: a consumer with nothing pending then has delivered whatever is dropped.
    if (this.kept.length >= MAX_KEPT) this.kept = [];
    this.kept.push({ seq, runId, entry });
  }

  /** An entry this engine just appended, or that the journal tail decoded. */
  noteAppended(seq: number, entry: JournalEntry) {
    if (this.running && !this.following && seq > this.store.appliedSeq && this.noted.size < 20_000)
      this.noted.set(seq, entry);
  }

  private switchToFollowing() {
    this.following = true;
    for (const k of this.kept.sort((a, b) => a.seq - b.seq))
      if (k.seq > this.store.appliedSeq) this.store.apply(k.runId, k.seq, k.entry);
    this.kept = [];
    this.noted.clear();
    const messages = this.messages;
    this.messages = undefined;
    void messages?.close().catch(() => undefined);
    this.logger.debug({ seq: this.store.appliedSeq }, 'run index caught up: following the tail');
  }

  /**
   * Waits (at most `maxWaitMs`) until the index holds every run entry stored before this call:
   * those up to the journal stream's last sequence now. The last entry may not be a run's (nor
   * exist any more), so should the index not reach it soon, the reader that feeds it says how
   * far it got: the tail's consumer (following), or its own (catching up).
   */
  async settle(maxWaitMs: number) {
    const deadline = Date.now() + maxWaitMs;
    const info = await this.jsm.streams.info(this.names.streams.journal).catch(() => undefined);
    if (!info) return; // JetStream not answering (an election): answer from what the index has
    const target = info.state.last_seq;
    while (this.store.appliedSeq < target && Date.now() < deadline) {
      await this.applied(target, Math.min(SOON_MS, deadline - Date.now()));
      if (this.store.appliedSeq >= target) return;
      const at = await this.position();
      if (!at) return;
      // Its reader delivered past the target: the run entries up to it came before.
      if (at.delivered >= target || at.pending === 0) {
        await this.applied(Math.min(at.delivered, target), Math.max(0, deadline - Date.now()));
        return;
      }
      await this.applied(target, Math.min(RECHECK_MS, deadline - Date.now()));
    }
  }

  /** How far the reader feeding the index got: its last delivered sequence, what it has not delivered. */
  private async position(): Promise<{ delivered: number; pending: number } | undefined> {
    if (this.following) return this.source?.position().catch(() => undefined);
    const info = await this.consumer?.info(false).catch(() => undefined);
    return info && { delivered: info.delivered.stream_seq, pending: info.num_pending };
  }

  private applied(seq: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { seq, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private wake() {
    const applied = this.store.appliedSeq;
    const still = [];
    for (const w of this.waiters) {
      if (w.seq <= applied) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private takeNoted(seq: number): JournalEntry | undefined {
    return this.noted.size === 0 ? undefined : takeNoted(this.noted, seq);
  }
}

/** Garbage on a run's subject is skipped here; the journal tail counts it. */
function decoded(data: Uint8Array, headers: Parameters<typeof decodeEntry>[1]) {
  try {
    return decodeEntry(data, headers);
  } catch {
    return undefined;
  }
}
