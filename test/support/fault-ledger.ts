/**
 * Counts for a fault test, in the words of the promise (docs/DESIGN.md "Guarantees, and the
 * tests that hold them"): runs triggered, completed, lost; task bodies executed more often than
 * at-least-once allows (once per attempt, plus once per worker or engine lost while the run was
 * in flight); durable calls repeated (a recorded `memo` body run again); outcomes decided against
 * event time. Bodies report with `executed(runId)` / `memoed(runId)`, in this process or, from a
 * worker process, as lines `exec <runId>` / `memo <runId>` read back with `readLines`.
 */
import { expect } from 'vitest';
import type { RunRef, Skein } from 'skein';

export interface FaultCounts {
  triggered: number;
  completed: number;
  lost: number;
  /** Runs whose body ran more often than allowed. */
  overAllowed: number;
  /** Runs whose body ran more than once (allowed up to the limit; reported, not a failure). */
  repeated: number;
  /** Runs whose recorded memo body ran again. */
  durableRepeated: number;
  /** Outcomes that disagree with the time of the events (counted by the test that has them). */
  wrongOutcomes: number;
}

export class FaultLedger {
  private readonly refs = new Map<string, RunRef<unknown>>();
  private readonly bodies = new Map<string, number>();
  private readonly memos = new Map<string, number>();
  /** Memo bodies run where the call was never recorded (a worker killed inside it). */
  private readonly unrecordedMemos = new Map<string, number>();
  private wrong = 0;
  /** The runs the last `settle` found without a result. */
  lostRunIds: string[] = [];
  /** The memo call keys (by default run ids) the last `settle` found run again after being recorded. */
  repeatedMemoKeys: string[] = [];

  trigger(...refs: RunRef<unknown>[]): void {
    for (const ref of refs) this.refs.set(ref.runId, ref);
  }
  executed(runId: string): void {
    this.bodies.set(runId, (this.bodies.get(runId) ?? 0) + 1);
  }
  /** A memo body ran; `callKey` tells a run's memos apart (default: the run has one). */
  memoed(callKey: string): void {
    this.memos.set(callKey, (this.memos.get(callKey) ?? 0) + 1);
  }
  /** A memo body that a killed worker was inside: it never reached the run, so running it again is allowed. */
  memoInterrupted(callKey: string): void {
    this.unrecordedMemos.set(callKey, (this.unrecordedMemos.get(callKey) ?? 0) + 1);
  }
  wrongOutcome(): void {
    this.wrong++;
  }
  /** Reads `exec <runId>` / `memo <runId>` lines a worker process printed. */
  readLines(output: string): void {
    for (const line of output.split('\n')) {
      const [what, runId] = line.trim().split(' ');
      if (what === 'exec' && runId) this.executed(runId);
      else if (what === 'memo' && runId) this.memoed(runId);
    }
  }

  get runIds(): string[] {
    return [...this.refs.keys()];
  }

  /**
   * Waits for every run (up to `timeoutMs` each) and counts. `allowed` is the most executions
   * of one run's body the promise allows: attempts + workers or engines lost meanwhile.
   */
  async settle(allowed: number, timeoutMs = 120_000): Promise<FaultCounts> {
    const outcomes = await Promise.all(
      [...this.refs.values()].map((ref) =>
        Promise.race([
          ref.result().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs)),
        ]),
      ),
    );
    const completed = outcomes.filter(Boolean).length;
    this.lostRunIds = [...this.refs.keys()].filter((_, i) => !outcomes[i]);
    const counts = [...this.bodies.values()];
    this.repeatedMemoKeys = [...this.memos]
      .filter(([callKey, n]) => n > 1 + (this.unrecordedMemos.get(callKey) ?? 0))
      .map(([callKey]) => callKey);
    return {
      triggered: this.refs.size,
      completed,
      lost: this.refs.size - completed,
      overAllowed: counts.filter((n) => n > allowed).length,
      repeated: counts.filter((n) => n > 1).length,
      durableRepeated: this.repeatedMemoKeys.length,
      wrongOutcomes: this.wrong,
    };
  }
}

/** The assertion every fault test makes, printed so the counts can be quoted in DESIGN.md. */
export function expectHeld(label: string, counts: FaultCounts, extra = ''): void {
  console.log(`[fault] ${label}: ${JSON.stringify(counts)}${extra ? ` ${extra}` : ''}`);
  expect(counts).toMatchObject({
    completed: counts.triggered,
    lost: 0,
    overAllowed: 0,
    durableRepeated: 0,
    wrongOutcomes: 0,
  });
}

/**
 * How long work stopped: triggers `n` quick runs at once (they hash onto every partition) and
 * resolves with the ms until the last has its result.
 */
export async function pauseOf(trigger: () => Promise<RunRef<unknown>[]>): Promise<number> {
  const t0 = Date.now();
  const refs = await trigger();
  await Promise.all(refs.map((r) => r.result()));
  return Date.now() - t0;
}

/**
 * The tasks most fault tests load the engine with: `work` (a 50 ms body) and `sleeper` (a
 * memo'd charge, then a durable sleep of `sleepMs`), both reporting to `ledger`.
 */
export function ledgerTasks(skein: Skein, ledger: FaultLedger, sleepMs: number) {
  const work = skein.task({
    name: 'work',
    fn: async (n: number, ctx) => {
      ledger.executed(ctx.runId);
      await new Promise((r) => setTimeout(r, 50));
      return n;
    },
  });
  const sleeper = skein.durableTask({
    name: 'sleeper',
    fn: async (n: number, ctx) => {
      await ctx.memo(function charge() {
        ledger.memoed(ctx.runId);
        return n;
      });
      return (await ctx.sleepFor(sleepMs)).durationMs;
    },
  });
  return { work, sleeper };
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
