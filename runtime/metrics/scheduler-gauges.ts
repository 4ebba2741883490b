/**
 * The leader's queue and worker slots, read from the scheduler's state when scraped (nothing
 * on the hot path). Gauges are rebuilt each time, so a worker the scheduler no longer counts
 * on (lost, or forgotten) drops out of `skein_worker_slots` at the next scrape.
 */
import type { SchedulerState } from '../../actors/scheduler/state.js';
import type { MetricDefinitions } from './registry.js';

export function setSchedulerGauges(
  m: MetricDefinitions,
  state: SchedulerState | undefined,
  now: number,
) {
  m.tasksQueued.reset();
  m.queueOldest.reset();
  m.workerSlots.reset();
  if (!state) return;
  const queued = new Map<string, { count: number; since: number }>();
  for (const entry of state.entries.values()) {
    if (entry.workerId !== undefined || entry.finished) continue;
    const name = entry.task.taskName;
    const q = queued.get(name);
    if (!q) queued.set(name, { count: 1, since: entry.queuedSince });
    else {
      q.count++;
      q.since = Math.min(q.since, entry.queuedSince);
    }
  }
  for (const [name, { count, since }] of queued) {
    m.tasksQueued.set({ name }, count);
    m.queueOldest.set({ name }, Math.max(0, now - since) / 1000);
  }
  for (const w of state.workers.values()) {
    if (w.status === 'LOST') continue;
    const durableBusy = w.durableRunning + w.pinned.size;
    const busy = w.running.size - w.durableRunning;
    m.workerSlots.set({ worker: w.id, state: 'busy' }, busy);
    m.workerSlots.set({ worker: w.id, state: 'free' }, Math.max(0, w.slots - busy));
    m.workerSlots.set({ worker: w.id, state: 'durable_busy' }, durableBusy);
    m.workerSlots.set(
      { worker: w.id, state: 'durable_free' },
      Math.max(0, w.durableSlots - durableBusy),
    );
  }
}
