/**
 * The run index, a part the leader keeps running: loads the last checkpoint, reads the journal
 * from there on (reader.ts), answers `runs.list`, `runs.page` and `runs.counts` on
 * `names.leaderApi(op)`, and stores a checkpoint every `checkpointEveryMs` when it changed.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { ObjectStore } from '@nats-io/obj';
import type { Logger } from 'pino';
import { answerApi } from '../api.js';
import type { Part } from '../keep-running.js';
import type { JournalEntry } from '../journal-entries.js';
import {
  apiRequests,
  type ApiParsed,
  type ApiResponse,
  type LeaderApiOp,
  type RunView,
} from '../protocol-api.js';
import type { Names } from '../protocol.js';
import { guarded } from '../rejections.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { summaryOf } from './fold.js';
import { RunIndexReader, type JournalSource } from './reader.js';
import { DEFAULT_PAGE_LIMIT, RunIndexStore, statusOf, workersOf, type LiveRuns } from './store.js';

export const DEFAULT_CHECKPOINT_EVERY_MS = 30_000;
/** Longest a query waits for the index to read what the journal held when it came. */
const SETTLE_MS = 3_000;
const VIEWS_AT_ONCE = 16;

export interface RunIndexOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  logger: Logger;
  objects: ObjectStore;
  /** A run as runs.get shows it, for runs.list. */
  getRun: (runId: string) => Promise<RunView>;
  /** Runs whose tasks the scheduler has dispatched now, with their workers. */
  live?: () => LiveRuns;
  /** The scheduler's journal tail, which the index follows once caught up (reader.ts). */
  source?: JournalSource;
  checkpointEveryMs?: number;
}

export class RunIndex implements Part {
  private store = new RunIndexStore();
  private reader?: RunIndexReader;
  private subs: Subscription[] = [];
  private timer?: NodeJS.Timeout;
  private checkpointedSeq = 0;
  private forgotten = false;
  private saving?: Promise<void>;

  constructor(private readonly o: RunIndexOptions) {}

  async start() {
    const { js, jsm, names, logger, objects } = this.o;
    // Always from the checkpoint: what this engine held before may miss another leader's work.
    this.store = new RunIndexStore();
    const checkpoint = await loadCheckpoint(objects).catch((err: unknown) => {
      logger.warn({ err }, 'run index: could not read its checkpoint; reading the whole journal');
      return undefined;
    });
    if (checkpoint) this.store.load(checkpoint.runs, checkpoint.seq);
    this.checkpointedSeq = this.store.appliedSeq;
    this.forgotten = false;
    this.reader = new RunIndexReader(js, jsm, names, this.store, logger, this.o.source);
    await this.reader.start();
    this.serve();
    const every = this.o.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS;
    this.timer = setInterval(() => void this.checkpoint(), every);
    this.timer.unref();
    logger.info(
      { runs: this.store.size, fromSeq: this.store.appliedSeq + 1 },
      'run index started from its checkpoint',
    );
  }

  healthy() {
    return this.reader?.healthy() ?? false;
  }

  async stop() {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
    clearInterval(this.timer);
    await this.saving;
    await this.reader?.stop();
    this.reader = undefined;
  }

  /** An entry this engine appended or already decoded: read back without decoding. */
  noteAppended(seq: number, entry: JournalEntry) {
    this.reader?.noteAppended(seq, entry);
  }

  /** A run entry the journal tail read. */
  follow(seq: number, subject: string, entry: JournalEntry) {
    this.reader?.follow(seq, subject, entry);
  }

  /** For retention: finished runs past their retention (see RunIndexStore.expired). */
  expired(now: number, defaultRetentionMs: number, limit: number) {
    return this.store.expired(now, defaultRetentionMs, limit);
  }

  /** For retention: a deleted run leaves the index (and the next checkpoint). */
  forget(runId: string) {
    this.store.forget(runId);
    this.forgotten = true;
  }

  /** How many runs it holds (for /status and the bench). */
  get size() {
    return this.store.size;
  }

  /** Stores a checkpoint if anything changed since the last one. */
  checkpoint(): Promise<void> {
    const seq = this.store.appliedSeq;
    if (this.saving || (seq === this.checkpointedSeq && !this.forgotten)) return Promise.resolve();
    const forgotten = this.forgotten;
    this.forgotten = false;
    const startedAt = Date.now();
    this.saving = saveCheckpoint(this.o.objects, seq, this.store.records())
      .then((bytes) => {
        this.checkpointedSeq = seq;
        this.o.logger.debug(
          { seq, runs: this.store.size, bytes, ms: Date.now() - startedAt },
          'run index checkpoint stored',
        );
      })
      .catch((err: unknown) => {
        this.forgotten ||= forgotten;
        this.o.logger.warn({ err }, 'run index: could not store a checkpoint; trying again later');
      })
      .finally(() => (this.saving = undefined));
    return this.saving;
  }

  private serve() {
    const { nc, names, logger } = this.o;
    const ops: { [Op in LeaderApiOp]: (req: ApiParsed<Op>) => Promise<ApiResponse<Op>> } = {
      'runs.page': async (q) => {
        await this.settle();
        const live = this.live();
        const { runs, nextCursor } = this.store.page(q, live);
        const shown = runs.map((r) => summaryOf(r, statusOf(r, live), workersOf(r, live)));
        return { runs: shown, nextCursor };
      },
      'runs.counts': async (q) => {
        await this.settle();
        return this.store.counts(q, this.live());
      },
      'runs.list': async (q) => {
        await this.settle();
        const query = { ...q, limit: q.limit ?? DEFAULT_PAGE_LIMIT };
        const { runs } = this.store.page(query, this.live());
        const views: (RunView | undefined)[] = new Array(runs.length);
        let next = 0;
        const lane = async () => {
          while (next < runs.length) {
            const i = next++;
            views[i] = await this.o.getRun(runs[i].id).catch(() => undefined);
          }
        };
        await Promise.all(Array.from({ length: Math.min(VIEWS_AT_ONCE, runs.length) }, lane));
        // runs.get may see a queued run already dispatched (RUNNING): the filter holds on what it shows.
        return views.filter(
          (v): v is RunView => v !== undefined && (!q.status || q.status.includes(v.status)),
        );
      },
    };
    for (const op of Object.keys(ops) as LeaderApiOp[]) {
      const serve = ops[op] as (req: unknown) => Promise<unknown>;
      const handler = (req: unknown) => serve(apiRequests[op].parse(req));
      this.subs.push(
        nc.subscribe(names.leaderApi(op), {
          callback: guarded(logger, 'api-failed', (msg) => answerApi(nc, msg, op, handler, logger)),
        }),
      );
    }
  }

  private live(): LiveRuns {
    return this.o.live?.() ?? new Map();
  }

  private async settle() {
    await this.reader?.settle(SETTLE_MS);
  }
}
