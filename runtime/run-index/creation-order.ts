/**
 * Every indexed run in creation order (createdAt, then id), so that a page of the newest runs
 * reads from the end and stops once it is full, rather than looking at every run. Runs mostly
 * arrive in that order, so an insert is an append; one that arrives late (another writer's
 * clock, a checkpoint) is put in its place. A removed run is skipped until the next compaction.
 */
import type { IndexedRun } from './fold.js';

export interface CreationCursor {
  at: number;
  id: string;
}

/** Whether (at, id) comes after (at2, id2): created later, or at once with the greater id. */
export const comesAfter = (at: number, id: string, at2: number, id2: string) =>
  at > at2 || (at === at2 && id > id2);

const isAfter = (run: IndexedRun, c: CreationCursor) =>
  comesAfter(run.createdAt, run.id, c.at, c.id);

export class CreationOrder {
  private readonly items: IndexedRun[] = [];
  private readonly removed = new Set<IndexedRun>();

  add(run: IndexedRun) {
    const last = this.items[this.items.length - 1];
    if (!last || !isAfter(last, { at: run.createdAt, id: run.id })) this.items.push(run);
    else this.items.splice(this.firstAfter(run.createdAt, run.id), 0, run);
  }

  remove(run: IndexedRun) {
    this.removed.add(run);
    if (this.removed.size > 1024 && this.removed.size * 4 > this.items.length) this.compact();
  }

  /** Newest first, from just before `before` when given. */
  *newestFirst(before?: CreationCursor): Generator<IndexedRun> {
    const a = this.items;
    const start = before ? this.firstAfter(before.at, before.id) - 1 : a.length - 1;
    for (let i = start; i >= 0; i--) {
      const run = a[i];
      if (before && run.createdAt === before.at && run.id === before.id) continue;
      if (!this.removed.has(run)) yield run;
    }
  }

  /** The index of the first run created after (at, id), by binary search. */
  private firstAfter(at: number, id: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (isAfter(this.items[mid], { at, id })) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private compact() {
    const kept = this.items.filter((run) => !this.removed.has(run));
    this.items.length = 0;
    this.items.push(...kept);
    this.removed.clear();
  }
}
