/**
 * Counts for fault tests, so each asserts the same things in the same words: runs triggered,
 * completed and lost; bodies executed more often than at-least-once allows (once per attempt,
 * plus once per worker or engine lost while it ran); durable calls (`memo`) repeated.
 *
 *   const counts = new FaultCounts();
 *   fn: async (input, ctx) => { counts.body(ctx.runId); await ctx.memo(() => counts.durableCall(`${ctx.runId}:a`)); … }
 *   counts.triggered(ref.runId); …; counts.completed(runId);
 *   expect(counts.summary({ extraPerRun: 1 })).toMatchObject({ lost: 0, overExecuted: 0, durableCallsRepeated: 0 });
 */
export interface FaultSummary {
  triggered: number;
  completed: number;
  /** Triggered and never completed. */
  lost: number;
  /** Runs whose body ran more than `attempts + extraPerRun` times. */
  overExecuted: number;
  /** The most executions of one run's body. */
  maxBodyRuns: number;
  /** Durable calls that ran more than once. */
  durableCallsRepeated: number;
}

export class FaultCounts {
  private readonly runs = new Set<string>();
  private readonly done = new Set<string>();
  private readonly bodies = new Map<string, number>();
  private readonly calls = new Map<string, number>();

  triggered(runId: string) {
    this.runs.add(runId);
  }

  completed(runId: string) {
    this.done.add(runId);
  }

  /** Call first thing in a task body. */
  body(runId: string) {
    this.bodies.set(runId, (this.bodies.get(runId) ?? 0) + 1);
  }

  /** Call inside a durable call (e.g. `ctx.memo`), with a key unique to the call. */
  durableCall(key: string) {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  bodyRuns(runId: string) {
    return this.bodies.get(runId) ?? 0;
  }

  get completedCount() {
    return this.done.size;
  }

  /**
   * `attempts`: attempts each run may make (default 1); `extraPerRun`: workers or engines lost
   * while a run's body ran, each allowing one more execution (durable bodies replay after a
   * sleep on a worker that evicted them: count those as attempts too).
   */
  summary(opts: { attempts?: number; extraPerRun?: number } = {}): FaultSummary {
    const allowed = (opts.attempts ?? 1) + (opts.extraPerRun ?? 0);
    const lost = [...this.runs].filter((id) => !this.done.has(id)).length;
    const counts = [...this.bodies.values()];
    return {
      triggered: this.runs.size,
      completed: [...this.runs].filter((id) => this.done.has(id)).length,
      lost,
      overExecuted: counts.filter((c) => c > allowed).length,
      maxBodyRuns: Math.max(0, ...counts),
      durableCallsRepeated: [...this.calls.values()].filter((c) => c > 1).length,
    };
  }
}

/** The p-th percentile (0–100) of `values`, or 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The longest gap between consecutive times (ms), counting from `from` to the first. */
export function longestGap(times: number[], from?: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let gap = 0;
  let last = from ?? sorted[0];
  for (const t of sorted) {
    if (last !== undefined) gap = Math.max(gap, t - last);
    last = t;
  }
  return gap;
}
