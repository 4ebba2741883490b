/**
 * The leader's retention sweeper: every few seconds it takes a batch of finished runs past
 * their retention from the run index and deletes them (runtime/run-deletion.ts); about once a
 * minute it also removes crons and schedules that are over (deleted, or fired) and have been
 * so for the default retention.
 */
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { decodeEntry } from './journal-entries.js';
import { deleteMessages, sequencesOf } from './message-deletes.js';
import { deleteRun, deleteSnapshot, type RunDeletionDeps } from './run-deletion.js';
import { idOfJournalSubject } from './subjects.js';

/** A finished run past its retention, with its journal entries' sequences. */
export interface ExpiredRun {
  runId: string;
  journalSeqs: number[];
}

/** Where the sweeper learns which runs to delete: the run index. */
export interface ExpiredRuns {
  /** Finished runs past their retention (their own, else `defaultRetentionMs`), at most `limit`; a child run only once its parent is gone. */
  expired(
    now: number,
    defaultRetentionMs: number,
    limit: number,
  ): ExpiredRun[] | Promise<ExpiredRun[]>;
  /** The run was deleted. */
  forget(runId: string): void;
}

export interface SweeperOptions {
  deps: RunDeletionDeps;
  source: ExpiredRuns | undefined;
  defaultRetentionMs: number;
  clock: Clock;
  logger: Logger;
  /** Actor hosts whose done actors the sweeper removes: they forget them. */
  actors: Record<'cron' | 'schedule', { forget(id: string): Promise<void> }>;
  sweepEveryMs?: number;
}

/** Sweeps this often: a run is gone within its retention plus this plus a batch's deletion. */
export const SWEEP_EVERY_MS = 10_000;
/** Crons and schedules are looked at every this many sweeps (once a minute by default). */
const ACTORS_EVERY_SWEEPS = 6;
const BATCH = 256;
const RUNS_AT_ONCE = 8;

/** Whether a cron's or schedule's last summary says it is over. */
const isOver = (type: 'cron' | 'schedule', s: Record<string, unknown> | undefined) =>
  !!s && (s.deleted === true || (type === 'schedule' && typeof s.runId === 'string'));

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private lastActorsSweep = 0;
  private running = false;

  constructor(private readonly o: SweeperOptions) {}

  start(): Promise<void> {
    this.running = true;
    this.schedule(0);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  healthy() {
    return true;
  }

  private schedule(delayMs: number) {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((err: unknown) => this.o.logger.warn({ err }, 'retention sweep failed'))
        .finally(() => this.schedule(this.o.sweepEveryMs ?? SWEEP_EVERY_MS));
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: runs until a batch comes back short, then (now and then) crons and schedules. */
  async sweep(): Promise<void> {
    const { source } = this.o;
    for (let full = true; source && full && this.running;) {
      const batch = await source.expired(this.o.clock.now(), this.o.defaultRetentionMs, BATCH);
      let next = 0;
      let deleted = 0;
      const lane = async () => {
        while (next < batch.length && this.running) {
          const { runId, journalSeqs } = batch[next++];
          // One run that cannot be deleted now must not hold back the others: it comes again.
          const gone = await deleteRun(this.o.deps, runId, journalSeqs).then(
            (ok) => {
              if (!ok) this.o.logger.warn({ runId }, 'retention: an expired run has not finished');
              return ok;
            },
            (err: unknown) => {
              this.o.logger.warn({ err, runId }, 'retention: could not delete a run');
              return false;
            },
          );
          if (gone) {
            source.forget(runId);
            deleted++;
          }
        }
      };
      await Promise.all(Array.from({ length: RUNS_AT_ONCE }, lane));
      full = batch.length >= BATCH && deleted > 0;
    }
    const now = this.o.clock.now();
    const actorsEveryMs = ACTORS_EVERY_SWEEPS * (this.o.sweepEveryMs ?? SWEEP_EVERY_MS);
    if (this.running && now - this.lastActorsSweep >= actorsEveryMs) {
      this.lastActorsSweep = now;
      for (const type of ['cron', 'schedule'] as const) await this.sweepActors(type, now);
    }
  }

  /** Removes the crons or schedules over for longer than the default retention. */
  private async sweepActors(type: 'cron' | 'schedule', now: number) {
    const { jsm, names } = this.o.deps;
    const stream = names.streams.journal;
    // The stream lists the actors' subjects: no consumer, so no wait when there are none.
    const info = await jsm.streams.info(stream, { subjects_filter: names.journalAll(type) });
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      if (!this.running) return;
      const last = await jsm.direct.getMessage(stream, { last_by_subj: subject });
      if (!last) continue;
      let entry;
      try {
        entry = decodeEntry(last.data, last.header);
      } catch {
        continue;
      }
      const summary = entry.s as Record<string, unknown> | undefined;
      if (!isOver(type, summary) || now - entry.at < this.o.defaultRetentionMs) continue;
      const id = idOfJournalSubject(subject);
      await deleteSnapshot(this.o.deps, type, id);
      // Entries before the last first; the last only if nothing was appended meanwhile (a cron
      // made again under the same name appends after it, and must keep what it appended).
      await deleteMessages(jsm, stream, await sequencesOf(jsm, stream, subject, 1, last.seq));
      const after = await sequencesOf(jsm, stream, subject, last.seq + 1);
      if (after.length === 0) await deleteMessages(jsm, stream, [last.seq]);
      await this.o.actors[type].forget(id);
    }
  }
}
