/**
 * A stand-in for the run index in tests of the retention sweeper: it knows the runs a test
 * tells it of, and says which are finished past their retention, reading each through the
 * public API (runs.get, and the retention carried in the run's RunTriggered spec).
 */
import type { Skein } from 'skein';
import type { ExpiredRun, ExpiredRuns } from '../../runtime/retention-sweeper.js';

export class FinishedRuns implements ExpiredRuns {
  private readonly candidates = new Set<string>();
  readonly forgotten: string[] = [];
  skein: Skein | undefined;

  /** `claimAll`: say every known run expired, finished or not (a broken index). */
  constructor(private readonly claimAll = false) {}

  watch(...runIds: string[]) {
    for (const id of runIds) this.candidates.add(id);
  }

  /** How many times the sweeper asked. */
  asked = 0;

  async expired(now: number, defaultRetentionMs: number, limit: number): Promise<ExpiredRun[]> {
    this.asked++;
    const out: ExpiredRun[] = [];
    for (const runId of this.candidates) {
      if (out.length >= limit || !this.skein) break;
      if (this.claimAll) {
        out.push({ runId, journalSeqs: [] });
        continue;
      }
      const run = await this.skein.runs.get(runId).catch(() => undefined);
      if (!run?.finishedAt) continue;
      const history = await this.skein.runs.history(runId);
      const spec = history.find((e) => e.type === 'RunTriggered')?.data.spec as
        { retentionMs?: number } | undefined;
      if (run.finishedAt.getTime() + (spec?.retentionMs ?? defaultRetentionMs) <= now)
        out.push({ runId, journalSeqs: [] });
    }
    return out;
  }

  forget(runId: string) {
    this.candidates.delete(runId);
    this.forgotten.push(runId);
  }
}
