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
  /** The queue key it was dispatched under: the scheduler keeps that entry until the wait is recorded. */
  key: string;
  /** The run recorded the wait (its turn answered the worker): the scheduler is done with `key`. */
  recorded?: boolean;
  position: number;
  allowCapacityEviction: boolean;
  ttlTimer: NodeJS.Timeout;
  resume(task: QueuedTask): void;
  evict(reason: string): void;
  /** Sends the wait to the run again (same message id: a run that stored it does nothing new). */
  sendWaitAgain(): void;
}

const idOf = heldId;

export class SuspendedTasks {
  /** Oldest first (a Map keeps insertion order). */
  private readonly held = new Map<string, Held>();

  /**
   * `tellScheduler`: the scheduler should hear at once when a pinned slot is taken or freed,
   * or a wait it must not take for lost is sent again.
   */
  constructor(private readonly tellScheduler: () => void) {}

  get size() {
    return this.held.size;
  }

  hold(task: QueuedTask, held: Omit<Held, 'key' | 'recorded' | 'ttlTimer'>, ttlMs: number) {
    const id = idOf(task);
    this.held.get(id)?.evict('replaced by a newer execution of the same task');
    const ttlTimer = setTimeout(() => this.dropById(id, 'its eviction TTL passed'), ttlMs);
    ttlTimer.unref();
    this.held.set(id, { ...held, key: task.key, ttlTimer });
    if (!held.allowCapacityEviction) this.tellScheduler();
  }

  /** Held tasks that may not be evicted for room: each keeps its durable slot. */
  pinned(): string[] {
    return [...this.held].filter(([, held]) => !held.allowCapacityEviction).map(([id]) => id);
  }

  /**
   * Queue keys of the held executions whose wait the run may not have recorded yet, for the
   * heartbeat (`suspended`): few, unless the worker cannot reach the engine serving their runs.
   */
  unrecordedKeys(): string[] {
    return [...this.held.values()].flatMap((held) => (held.recorded ? [] : [held.key]));
  }

  /** The run stored the wait of the execution held under `task.key` (if it is still held). */
  waitRecorded(task: Pick<QueuedTask, 'runId' | 'taskName' | 'key'>) {
    const held = this.held.get(idOf(task));
    if (held?.key === task.key) held.recorded = true;
  }

  /**
   * Resumes the held execution this dispatch continues, or keeps holding it when the dispatch
   * is the one it already took; false when none matches (replay instead).
   */
  resume(task: QueuedTask): boolean {
    const id = idOf(task);
    const held = this.held.get(id);
    if (!held) return false;
    // Sent again before its run recorded the wait (a scheduler that took it for lost): this
    // execution is that dispatch, and its wait is stored or on its way. A replay could find
    // a history without the calls it just recorded, and run them again.
    if (task.key === held.key) {
      // Sent again after the run answered the wait: the scheduler still has the dispatch, so
      // the run cannot have stored it (that ends the dispatch). Ignoring it would leave the
      // task dispatched again for ever; the wait goes to the run once more instead.
      if (held.recorded) {
        held.recorded = false;
        this.tellScheduler();
        held.sendWaitAgain();
      }
      return true;
    }
    if (task.resume?.position !== held.position) {
      this.dropById(id, 'dispatched again without its wait resolved');
      return false;
    }
    this.held.delete(id);
    clearTimeout(held.ttlTimer);
    if (!held.allowCapacityEviction) this.tellScheduler();
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
    if (!held.allowCapacityEviction) this.tellScheduler();
    held.evict(reason);
  }
}
