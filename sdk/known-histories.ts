/**
 * What a worker already knows of durable tasks' histories it dropped from memory: the calls an
 * execution replayed, recorded or was resumed with, kept per attempt, so that the attempt's
 * next dispatch asks the engine only for the calls recorded since. Bounded: the oldest go.
 */
import type { RecordedCall } from './replayer.js';
import { attemptOf } from '../runtime/ids.js';

/** A prefix of one attempt's recorded calls, and where the engine's last read of them ended. */
export interface KnownHistory {
  calls: RecordedCall[];
  /** `next` of the engine's last answer: its journal read goes on from there. */
  next?: number;
}

/** Calls kept in all, across attempts. */
const MAX_CALLS_KEPT = 200_000;

export class KnownHistories {
  /** Oldest first (a Map keeps insertion order). */
  private readonly kept = new Map<string, KnownHistory>();
  private calls = 0;

  keep(key: string, history: KnownHistory) {
    if (history.calls.length === 0 || history.calls.length > MAX_CALLS_KEPT) return;
    this.take(key);
    this.kept.set(attemptOf(key), history);
    this.calls += history.calls.length;
    while (this.calls > MAX_CALLS_KEPT) this.take(this.kept.keys().next().value as string);
  }

  /** The known prefix of attempt `key`'s history, handed over (forgotten here). */
  take(key: string): KnownHistory | undefined {
    const id = attemptOf(key);
    const known = this.kept.get(id);
    if (!known) return undefined;
    this.kept.delete(id);
    this.calls -= known.calls.length;
    return known;
  }
}
