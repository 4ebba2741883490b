/**
 * Runs the turns of one kind of actor: load state (memory, else snapshot + journal), skip a
 * message already handled, decide, append the events, carry out the effects. The caller acks
 * the mailbox message after `handle` resolves; a throw anywhere leaves it to be redelivered,
 * and the repeated turn ends the same way.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { ActorDefinition } from '../actors/actor.js';
import type { Effect } from '../actors/effects.js';
import { decode, encode } from './codec.js';
import { FORMAT_VERSION, migrate } from './format.js';
import { rejected } from './rejections.js';
import type { EffectRunner } from './effects.js';
import { AppendConflict, type Journal } from './journal.js';
import type { JournalEntry } from './journal-entries.js';
import type { Clock } from './clock.js';
import { turnSource } from './ids.js';
import { snapshotKey } from './subjects.js';

/** Test hooks: a hook that throws interrupts the turn at that point, as a crash would. */
/**
 * A message its actor cannot take yet (see `Decision.early`): neither handled nor dropped. A
 * direct sender then stores it in the inbox; the inbox hands it over again after a delay.
 */
export class EarlyMessage extends Error {}

export interface TurnHooks {
  /**
   * Before the turn loads the actor and decides; a promise returned delays the turn (and the
   * actor's later ones) until it settles, as a partition that held the message back would.
   */
  beforeDecide?(actorId: string, messageId: string, messageType: string): Promise<void> | void;
  beforeAppend?(actorId: string, messageId: string): void;
  afterAppend?(actorId: string, messageId: string): void;
  afterEffects?(actorId: string, messageId: string): void;
}

interface Loaded<S> {
  state: S;
  lastSeq: number;
  /** Effects recorded per handled message id (the most recent ones). */
  handled: Map<string, Effect[]>;
  sinceSnapshot: number;
  /** The actor's stored snapshot, shared by the states that follow (it is written while later turns go on). */
  snapshot: SnapshotHeld;
  /** Assumed empty (see createsActor), not read from the journal. */
  assumed?: boolean;
}

interface Snapshot {
  /** The format it was written in (format.ts): KV puts carry no headers of ours. */
  v?: number;
  seq: number;
  state: unknown;
  handled: [string, Effect[]][];
}

/**
 * What a host knows of an actor's stored snapshot. It writes the next one by compare-and-set
 * on `revision` (0: none), so a stale writer cannot put back an older snapshot over entries
 * that compaction deleted, and one write at a time.
 */
interface SnapshotHeld {
  revision: number;
  /** The journal sequence the stored snapshot ends at (0: none). */
  seq: number;
  /** The write in flight, if any: one at a time. */
  writing?: Promise<void>;
}

const noSnapshot = (): SnapshotHeld => ({ revision: 0, seq: 0 });

const HANDLED_KEPT = 256;
const MAX_CONFLICT_RETRIES = 8;

export interface ActorHostOptions<M, S = unknown> {
  journal: Journal;
  effects: EffectRunner;
  clock: Clock;
  logger: Logger;
  snapshots?: KV;
  /** Take a snapshot after this many entries since the last one (0 = never). */
  snapshotEvery?: number;
  /** Messages that create an actor: a cold actor is assumed empty for them (a conflict corrects it). */
  createsActor?: (message: M) => boolean;
  /** Bound on actors kept in memory. */
  maxCached?: number;
  hooks?: TurnHooks;
  /**
   * Told of every entry this host appends, with the actor's state before it (the scheduler and
   * the metrics on this engine read it from here).
   */
  onAppended?: (seq: number, entry: JournalEntry, before: S) => void;
  /**
   * After each snapshot, delete the journal entries the one before it covers, but its last
   * (appends expect the subject's last sequence, which must stay stored). Not for runs: the
   * scheduler holds their entries as the queue.
   */
  compact?: boolean;
}

export class ActorHost<S, M extends { id: string }, E> {
  private readonly cache = new Map<string, Loaded<S>>();
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    readonly def: ActorDefinition<S, M, E>,
    private readonly opts: ActorHostOptions<M, S>,
  ) {}

  get cachedCount() {
    return this.cache.size;
  }

  /** Handles messages to one actor strictly one after another, in the order they arrive. */
  handle(actorId: string, message: M): Promise<void> {
    const previous = this.chains.get(actorId);
    const next = previous
      ? previous.catch(() => undefined).then(() => this.turn(actorId, message))
      : this.turn(actorId, message);
    this.chains.set(actorId, next);
    const cleanup = () => {
      if (this.chains.get(actorId) === next) this.chains.delete(actorId);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  /**
   * Takes an actor's first journal entry (written by someone else, as a client creating a run
   * does) into memory, so its next turn need not read the journal. Ignored if already loaded.
   */
  prime(actorId: string, seq: number, entry: JournalEntry) {
    if (this.cache.has(actorId) || this.chains.has(actorId)) return;
    let state = this.def.initial(actorId);
    for (const event of entry.ev) state = this.def.evolve(state, event as E);
    const handled = new Map<string, Effect[]>();
    rememberHandled(handled, entry.m, entry.fx);
    this.remember(actorId, {
      state,
      lastSeq: seq,
      handled,
      sinceSnapshot: 1,
      snapshot: noSnapshot(),
    });
  }

  /**
   * Drops an actor from memory (its journal was deleted): its next turn reads the journal.
   * Resolves once a snapshot it was writing is stored, so that its deleter can delete it too.
   */
  async forget(actorId: string): Promise<void> {
    const loaded = this.cache.get(actorId);
    this.cache.delete(actorId);
    await loaded?.snapshot.writing;
  }

  /** The actor's current state and journal position, read fresh from the journal. */
  async read(actorId: string): Promise<{ state: S; lastSeq: number }> {
    return this.load(actorId);
  }

  private async turn(actorId: string, message: M): Promise<void> {
    try {
      const held = this.opts.hooks?.beforeDecide?.(actorId, message.id, typeOf(message));
      if (held) await held;
      for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
        if (await this.tryTurn(actorId, message, attempt === 0)) return;
        this.cache.delete(actorId);
      }
      throw new Error(
        `${this.def.type} ${actorId}: gave up after ${MAX_CONFLICT_RETRIES} append conflicts`,
      );
    } catch (err) {
      this.cache.delete(actorId);
      throw err;
    }
  }

  /**
   * One attempt at a turn; false when another writer got there first and the turn must be
   * decided again. `mayAssume`: a message that creates its actor may find it empty without
   * reading the journal (not once that guess proved wrong).
   */
  private async tryTurn(actorId: string, message: M, mayAssume: boolean): Promise<boolean> {
    const { hooks } = this.opts;
    const source = turnSource(this.def.type, actorId, message.id);
    const cached = this.cache.get(actorId);
    const loaded = cached ?? (await this.loadForMessage(actorId, message, mayAssume));
    const recorded = loaded.handled.get(message.id);
    if (recorded) {
      await this.opts.effects.run(recorded, source);
      return true;
    }
    const now = this.opts.clock.now();
    const decision = this.def.decide(loaded.state, message, now);
    const { events, effects } = decision;
    // A state kept in memory (or taken from another's entry, or assumed empty) may be behind
    // the journal: another engine may have served the actor meanwhile (a partition moved
    // while this one was cut off). An append would notice (its expected sequence is stale);
    // a decision to do nothing would drop the message, a durable sleep's wake-up say. So
    // that one is checked against the journal, and decided again on it when behind.
    const behind = async () =>
      (cached !== undefined || loaded.assumed === true) &&
      (await this.opts.journal.lastSeq(this.def.type, actorId)) !== loaded.lastSeq;
    if (decision.early) {
      if (await behind()) return false;
      throw new EarlyMessage(`${this.def.type} ${actorId}: ${decision.early}`);
    }
    if (events.length === 0 && effects.length === 0) {
      if (await behind()) return false;
      this.remember(actorId, loaded);
      return true;
    }
    let state = decision.state ?? loaded.state;
    if (!decision.state) for (const event of events) state = this.def.evolve(state, event);
    const entry: JournalEntry = {
      m: message.id,
      at: now,
      ev: events,
      fx: effects,
      s: this.def.summarize?.(state),
    };
    hooks?.beforeAppend?.(actorId, message.id);
    let seq: number;
    try {
      seq = await this.opts.journal.append(this.def.type, actorId, entry, loaded.lastSeq);
    } catch (err) {
      if (err instanceof AppendConflict) return false;
      throw err;
    }
    const next: Loaded<S> = {
      state,
      lastSeq: seq,
      handled: loaded.handled,
      sinceSnapshot: loaded.sinceSnapshot + 1,
      snapshot: loaded.snapshot,
    };
    rememberHandled(next.handled, message.id, effects);
    this.remember(actorId, next);
    this.opts.onAppended?.(seq, entry, loaded.state);
    hooks?.afterAppend?.(actorId, message.id);
    const stored = this.opts.effects.run(effects, source);
    if (stored) await stored;
    hooks?.afterEffects?.(actorId, message.id);
    if (this.def.isDone?.(state)) this.cache.delete(actorId);
    else this.maybeSnapshot(actorId, next);
    return true;
  }

  private remember(actorId: string, loaded: Loaded<S>) {
    if (this.def.isDone?.(loaded.state)) return;
    this.cache.delete(actorId);
    this.cache.set(actorId, loaded);
    const max = this.opts.maxCached ?? 50_000;
    if (this.cache.size > max) this.cache.delete(this.cache.keys().next().value as string);
  }

  private loadForMessage(actorId: string, message: M, mayAssume: boolean): Promise<Loaded<S>> {
    if (mayAssume && this.opts.createsActor?.(message)) {
      return Promise.resolve({
        state: this.def.initial(actorId),
        lastSeq: 0,
        handled: new Map(),
        sinceSnapshot: 0,
        snapshot: noSnapshot(),
        assumed: true,
      });
    }
    return this.load(actorId);
  }

  private async load(actorId: string): Promise<Loaded<S>> {
    const loaded: Loaded<S> = {
      state: this.def.initial(actorId),
      lastSeq: 0,
      handled: new Map(),
      sinceSnapshot: 0,
      snapshot: noSnapshot(),
    };
    if (this.opts.snapshots && this.opts.snapshotEvery) {
      const snap = await this.opts.snapshots.get(snapshotKey(this.def.type, actorId));
      if (snap) loaded.snapshot.revision = snap.revision;
      const s = snap && snap.operation === 'PUT' ? this.snapshotOf(snap.value) : undefined;
      if (s) {
        loaded.snapshot.seq = s.seq;
        loaded.state = s.state as S;
        loaded.lastSeq = s.seq;
        loaded.handled = new Map(s.handled);
      }
    }
    for (const { seq, entry } of await this.opts.journal.read(
      this.def.type,
      actorId,
      loaded.lastSeq + 1,
    )) {
      for (const event of entry.ev) loaded.state = this.def.evolve(loaded.state, event as E);
      loaded.lastSeq = seq;
      loaded.sinceSnapshot++;
      rememberHandled(loaded.handled, entry.m, entry.fx);
    }
    return loaded;
  }

  /**
   * A stored snapshot, or undefined (counted; the journal is read from the start) when it is
   * garbage or written by a newer Skein.
   */
  private snapshotOf(value: Uint8Array): Snapshot | undefined {
    try {
      const stored = decode<Snapshot>(value);
      const s = migrate('snapshot', stored?.v ?? 0, stored) as Snapshot;
      if (!Number.isInteger(s?.seq) || !Array.isArray(s.handled)) throw new Error('not a snapshot');
      return s;
    } catch (err) {
      rejected(this.opts.logger, 'snapshot-malformed', err);
      return undefined;
    }
  }

  private maybeSnapshot(actorId: string, loaded: Loaded<S>) {
    const every = this.opts.snapshotEvery ?? 0;
    if (!this.opts.snapshots || every === 0 || loaded.sinceSnapshot < every) return;
    if (loaded.snapshot.writing) return; // the next turn tries again
    loaded.sinceSnapshot = 0;
    const snapshot: Snapshot = {
      v: FORMAT_VERSION,
      seq: loaded.lastSeq,
      state: loaded.state,
      handled: [...loaded.handled],
    };
    // A lost snapshot only makes the next load read more of the journal.
    const key = snapshotKey(this.def.type, actorId);
    const held = loaded.snapshot;
    const written = held.revision
      ? this.opts.snapshots.update(key, encode(snapshot), held.revision)
      : this.opts.snapshots.create(key, encode(snapshot));
    held.writing = written
      .then(async (revision) => {
        // Compaction stays one snapshot behind: a host elsewhere that read the previous
        // snapshot a moment ago (a partition moving) still finds every entry after it.
        const covered = held.seq;
        held.revision = revision;
        held.seq = snapshot.seq;
        if (this.opts.compact && covered > 0)
          await this.opts.journal.compact(this.def.type, actorId, covered);
      })
      .catch((err: unknown) => {
        // Another writer's snapshot is newer than the one this state was loaded with: read it.
        if (this.cache.get(actorId)?.snapshot === held) this.cache.delete(actorId);
        this.opts.logger.warn({ err, actorId }, 'snapshot or compaction failed');
      })
      .finally(() => (held.writing = undefined));
  }
}

const typeOf = (message: object) => String((message as { type?: unknown }).type);

function rememberHandled(handled: Map<string, Effect[]>, messageId: string, effects: Effect[]) {
  handled.set(messageId, effects);
  if (handled.size > HANDLED_KEPT) handled.delete(handled.keys().next().value as string);
}
