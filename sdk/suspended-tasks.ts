/**
 * Durable tasks a worker keeps in memory while they wait on a durable call. Each stays at most
 * its eviction TTL, less when the worker needs its slot or stops; a task dropped here is later
 * resumed by replay on whichever worker the scheduler picks.
 */
import { heldId, type QueuedTask } from '../actors/scheduler/queued-task.js';

export interface EvictionPolicy {
  /** How long a waiting durable task stays in memory. Default '15m'. */
  ttl?: import('./duration.js').Duration;
  /** Whether the worker may drop it sooner to make room for other durable tasks. Default true. */
  allowCapacityEviction?: boolean;
}

interface Held {
  position: number;
  allowCapacityEviction: boolean;
  ttlTimer: NodeJS.Timeout;
  resume(task: QueuedTask): void;
  evict(reason: string): void;
}

const idOf = heldId;

export class SuspendedTasks {
  /** Oldest first (a Map keeps insertion order). */
  private readonly held = new Map<string, Held>();

  /** `onPinnedChange`: the scheduler should hear at once when a pinned slot is taken or freed. */
  constructor(private readonly onPinnedChange: () => void) {}

  get size() {
    return this.held.size;
  }

  hold(task: QueuedTask, held: Omit<Held, 'ttlTimer'>, ttlMs: number) {
    const id = idOf(task);
    this.held.get(id)?.evict('replaced by a newer execution of the same task');
    const ttlTimer = setTimeout(() => this.dropById(id, 'its eviction TTL passed'), ttlMs);
    ttlTimer.unref();
    this.held.set(id, { ...held, ttlTimer });
    if (!held.allowCapacityEviction) this.onPinnedChange();
  }

  /** Held tasks that may not be evicted for room: each keeps its durable slot. */
  pinned(): string[] {
    return [...this.held].filter(([, held]) => !held.allowCapacityEviction).map(([id]) => id);
  }

  /** Resumes the held execution this dispatch continues; false when none matches (replay instead). */
  resume(task: QueuedTask): boolean {
    const id = idOf(task);
    const held = this.held.get(id);
    if (!held) return false;
    if (task.resume?.position !== held.position) {
      this.dropById(id, 'dispatched again without its wait resolved');
      return false;
    }
    this.held.delete(id);
    clearTimeout(held.ttlTimer);
    if (!held.allowCapacityEviction) this.onPinnedChange();
    held.resume(task);
    return true;
  }

  /** Drops the oldest execution that allows it, to free a durable slot; false if none may go. */
  evictOne(): boolean {
    for (const [id, held] of this.held) {
      if (!held.allowCapacityEviction) continue;
      this.dropById(id, 'the worker needed its slot');
      return true;
    }
    return false;
  }

  dropAll(reason: string) {
    for (const id of [...this.held.keys()]) this.dropById(id, reason);
  }

  drop(task: Pick<QueuedTask, 'runId' | 'taskName'>, reason: string) {
    this.dropById(idOf(task), reason);
  }

  private dropById(id: string, reason: string) {
    const held = this.held.get(id);
    if (!held) return;
    this.held.delete(id);
    clearTimeout(held.ttlTimer);
    if (!held.allowCapacityEviction) this.onPinnedChange();
    held.evict(reason);
  }
}
