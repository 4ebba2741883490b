/**
 * Keeps the parts an engine serves while it holds a lease (the leader's timers, event router
 * and scheduler, each mailbox partition) running for as long as it holds it. A part that
 * failed to restart, whose consumer loop ended, or whose consumer moved to another server is
 * restarted on the next check, and again on the one after until it succeeds: a NATS cluster
 * losing a node may refuse a consumer restart for several seconds, and one refusal must not
 * stop timers for good.
 */
import type { Logger } from 'pino';

export interface Part {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False once the part stopped on its own (e.g. its consumer loop ended). */
  healthy(): boolean;
}

/** How often kept parts are checked; a failed restart is retried at this pace. */
const KEEP_RUNNING_CHECK_MS = 1_000;
/** A restart asked for this soon after a part (re)started is its own echo and is ignored. */
const SETTLE_MS = 2_000;

interface Kept {
  part: Part;
  /** Restart at the next check, even if it looks healthy. */
  restart: boolean;
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
    const now = Date.now();
    for (const name of names ?? this.kept.keys()) {
      const kept = this.kept.get(name);
      if (!kept) continue;
      if (settled && (kept.busy || now - kept.startedAt < SETTLE_MS)) continue;
      kept.restart = true;
    }
    this.check();
  }

  stop() {
    clearInterval(this.timer);
  }

  private check() {
    for (const [name, kept] of this.kept) {
      if (kept.busy) continue;
      if (!kept.restart && kept.part.healthy()) continue;
      kept.busy = this.restartOne(name, kept).finally(() => (kept.busy = undefined));
    }
  }

  private async restartOne(name: string, kept: Kept) {
    kept.restart = false;
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
