/**
 * Keeps the parts an engine serves while it holds a lease (the leader's timers, event router
 * and scheduler, each mailbox partition) running for as long as it holds it. A part whose
 * consumer moved to another server pulls again where it can. A part that failed to restart,
 * whose consumer loop ended, or that cannot just pull again is restarted on the next check, and again on the one after until it succeeds: a NATS cluster
 * losing a node may refuse a consumer restart for several seconds, and one refusal must not
 * stop timers for good.
 */
import type { Logger } from 'pino';

export interface Part {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False once the part stopped on its own (e.g. its consumer loop ended). */
  healthy(): boolean;
  /**
   * After its consumer moved to another server, when a new pull request may do instead of a
   * restart (which recreates the consumer, and its new Raft group must elect a leader again
   * while the cluster is a node short). False: it must restart after all.
   */
  pullAgain?(): Promise<boolean>;
}

/** How often kept parts are checked; a failed restart is retried at this pace. */
const KEEP_RUNNING_CHECK_MS = 1_000;
/** A restart asked for this soon after a part (re)started is its own echo and is ignored. */
const SETTLE_MS = 2_000;

interface Kept {
  part: Part;
  /** Restart at the next check, even if it looks healthy. */
  restart: boolean;
  /** Pull again at the next check (Part.pullAgain), unless it restarts. */
  pull?: boolean;
  /** Set while starting or stopping: one change at a time per part. */
  busy?: Promise<void>;
  startedAt: number;
  failures: number;
}

export class KeepRunning {
  private readonly kept = new Map<string, Kept>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    checkEveryMs = KEEP_RUNNING_CHECK_MS,
  ) {
    this.timer = setInterval(() => this.check(), checkEveryMs);
    this.timer.unref();
  }

  /**
   * Starts `part` and keeps it running until `drop(name)`. A first start that fails is retried
   * at each check, as a failed restart is: a NATS cluster electing leaders refuses for seconds.
   */
  async keep(name: string, part: Part) {
    await this.drop(name);
    const kept: Kept = { part, restart: false, startedAt: Date.now(), failures: 0 };
    this.kept.set(name, kept);
    kept.busy = part
      .start()
      .then(
        () => void (kept.startedAt = Date.now()),
        (err: unknown) => this.failed(name, kept, err),
      )
      .finally(() => (kept.busy = undefined));
    await kept.busy;
  }

  async drop(name: string) {
    const kept = this.kept.get(name);
    if (!kept) return;
    this.kept.delete(name);
    await kept.busy?.catch(() => undefined);
    await kept.part.stop();
  }

  /** Names of the parts kept now. */
  names() {
    return [...this.kept.keys()];
  }

  /**
   * Restarts the named parts (all when no names) at the next check. `settled`: skip a part
   * that (re)started in the last SETTLE_MS (an event caused by its own restart).
   */
  restart(names?: Iterable<string>, settled = false) {
    for (const name of names ?? this.kept.keys()) {
      const kept = this.kept.get(name);
      if (!kept || (settled && justChanged(kept))) continue;
      kept.restart = true;
    }
    this.check();
  }

  /**
   * The named part's consumer moved to another server: it pulls again where it can, else it
   * restarts (in both cases at the next check, and not when it just (re)started).
   */
  moved(name: string) {
    const kept = this.kept.get(name);
    if (!kept?.part.pullAgain) return this.restart([name], true);
    if (justChanged(kept)) return;
    kept.pull = true;
    this.check();
  }

  /**
   * The connection to NATS broke and came back: what was on its way to the engine is lost.
   * Each part that can looks for deliveries it never saw, as after a move (a loss followed by
   * later deliveries is seen by the consumer loop itself).
   */
  reconnected() {
    for (const [name, kept] of this.kept) if (kept.part.pullAgain) this.moved(name);
  }

  stop() {
    clearInterval(this.timer);
  }

  private check() {
    for (const [name, kept] of this.kept) {
      if (kept.busy) continue;
      if (kept.restart || !kept.part.healthy())
        kept.busy = this.restartOne(name, kept).finally(() => (kept.busy = undefined));
      else if (kept.pull)
        kept.busy = this.pullOne(name, kept).finally(() => (kept.busy = undefined));
    }
  }

  private async pullOne(name: string, kept: Kept) {
    kept.pull = false;
    try {
      if (await kept.part.pullAgain!()) {
        this.logger.info({ part: name }, 'pulling again');
        kept.startedAt = Date.now();
      } else kept.restart = true;
    } catch (err) {
      // Tried again at the next check: a consumer still electing its leader has no answer.
      kept.pull = true;
      this.logger.debug({ err, part: name }, 'could not pull again');
    }
  }

  private async restartOne(name: string, kept: Kept) {
    kept.restart = false;
    kept.pull = false;
    try {
      await kept.part.stop().catch(() => undefined);
      if (this.kept.get(name) !== kept) return; // dropped meanwhile
      await kept.part.start();
      kept.startedAt = Date.now();
      this.logger.info({ part: name, failures: kept.failures }, 'restarted');
      kept.failures = 0;
    } catch (err) {
      this.failed(name, kept, err);
    }
  }

  private failed(name: string, kept: Kept, err: unknown) {
    kept.restart = true;
    kept.failures++;
    // The first failure and then one line in ten: a cluster may refuse for a while.
    if (kept.failures % 10 === 1)
      this.logger.warn(
        { err, part: name, failures: kept.failures },
        'could not start; trying again',
      );
  }
}

/** Starting or stopping now, or (re)started in the last SETTLE_MS. */
const justChanged = (kept: Kept) =>
  kept.busy !== undefined || Date.now() - kept.startedAt < SETTLE_MS;
