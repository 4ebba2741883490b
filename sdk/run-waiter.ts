/**
 * Waits for runs to finish. The engine tells the triggering client on its notify subject
 * (best effort); for a notice lost to a crash, one timer per client asks the engine, in
 * batches, which of the runs it waits for have ended. A run this client did not trigger is
 * watched on its own subject (runs triggered without a notify subject) and checked often.
 */
import { randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { RunFinished } from '../actors/effects.js';
import { decode } from '../runtime/codec.js';
import { guarded } from '../runtime/rejections.js';
import type { SdkConnection } from './connection.js';
import { ConnectionError } from './errors.js';

/** A notice is lost only if an engine dies at the wrong moment: check rarely, and back off. */
const CHECK_EVERY_MS = 30_000;
const CHECK_BATCH = 1000;
const STRANGER_CHECK_MS = 1000;

interface Watch {
  /** When to ask the engine next. */
  checkAt: number;
  settle(f: RunFinished): void;
  fail(err: Error): void;
  done: Promise<RunFinished>;
  ownSub?: Subscription;
  strangerPoll?: NodeJS.Timeout;
}

export class RunWaiter {
  /** Subject that the engine tells this client's runs' ends on. */
  readonly notifySubject: string;
  private readonly watches = new Map<string, Watch>();
  private notifySub?: Subscription;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly conn: SdkConnection,
    readonly logger: Logger,
  ) {
    this.notifySubject = conn.names.clientNotify(randomUUID().replace(/-/g, ''));
  }

  /**
   * Starts listening for the run's end. Call before triggering with `triggeredHere`, so the
   * notice cannot be missed; otherwise the run's own subject is watched and the engine asked at once.
   */
  async watch(runId: string, triggeredHere: boolean): Promise<() => Promise<RunFinished>> {
    const { nc } = await this.conn.ready();
    if (this.closed)
      throw new ConnectionError(`the Skein client was closed before run '${runId}' ended`);
    this.notifySub ??= nc.subscribe(this.notifySubject, {
      callback: guarded(this.logger, 'notice-malformed', (msg) => {
        const f = finishedNotice(msg.data);
        this.watches.get(f.runId)?.settle(f);
      }),
    });
    // Handles on one run share one watch.
    const known = this.watches.get(runId);
    if (known && (triggeredHere || known.strangerPoll)) return () => known.done;
    if (known) {
      this.watchAsStranger(runId, known);
      return () => known.done;
    }
    let settle!: (f: RunFinished) => void;
    let fail!: (err: Error) => void;
    const done = new Promise<RunFinished>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const watch: Watch = { checkAt: Date.now() + CHECK_EVERY_MS, settle, fail, done };
    this.watches.set(runId, watch);
    this.timer ??= setInterval(() => void this.checkStale(), CHECK_EVERY_MS).unref();
    const cleanup = () => {
      watch.ownSub?.unsubscribe();
      clearInterval(watch.strangerPoll);
      if (this.watches.get(runId) === watch) this.watches.delete(runId);
      if (this.watches.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
    void done.then(cleanup, cleanup);
    if (!triggeredHere) this.watchAsStranger(runId, watch);
    return () => done;
  }

  /** Resolves when the run ends, told as `run()` is told (a run this client did not trigger too). */
  async ended(runId: string): Promise<RunFinished> {
    // A run this client watches already will be told: no need to ask the engine often.
    const known = this.watches.get(runId);
    return known ? known.done : (await this.watch(runId, false))();
  }

  /** Another client's run: the notice may have gone already, so ask at once and then often. */
  private watchAsStranger(runId: string, watch: Watch) {
    void this.conn.ready().then(({ nc }) => {
      // Not `max: 1`: a malformed message on the subject must not use up the subscription.
      watch.ownSub ??= nc.subscribe(this.conn.names.runFinished(runId), {
        callback: guarded(this.logger, 'notice-malformed', (msg) =>
          watch.settle(finishedNotice(msg.data)),
        ),
      });
    });
    void this.check([runId]);
    watch.strangerPoll ??= setInterval(() => void this.check([runId]), STRANGER_CHECK_MS);
  }

  /** Stops listening; waits still pending fail, so that no timer keeps the process alive. */
  close() {
    this.closed = true;
    this.notifySub?.unsubscribe();
    this.notifySub = undefined;
    clearInterval(this.timer);
    for (const [runId, watch] of this.watches)
      watch.fail(new ConnectionError(`the Skein client was closed before run '${runId}' ended`));
  }

  private async checkStale() {
    const now = Date.now();
    const stale: string[] = [];
    for (const [id, w] of this.watches) {
      if (w.checkAt > now) continue;
      stale.push(id);
      w.checkAt = now + 2 * CHECK_EVERY_MS;
    }
    for (let i = 0; i < stale.length; i += CHECK_BATCH)
      await this.check(stale.slice(i, i + CHECK_BATCH));
  }

  private async check(runIds: string[]) {
    try {
      const ended = await this.conn.api('runs.ended', { runIds });
      for (const f of ended) this.watches.get(f.runId)?.settle(f);
    } catch {
      // No engine answered: the notice or the next check will tell.
    }
  }
}

const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** A run's end as the engine announces it; anything else on the subject throws. */
function finishedNotice(data: Uint8Array): RunFinished {
  const f = decode<RunFinished>(data);
  if (typeof f?.runId !== 'string' || !ENDED.has(f.status)) throw new Error('not a run end');
  return f;
}
