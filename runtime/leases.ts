/**
 * Partition leases in a KV bucket whose entries expire: each engine renews what it holds and
 * takes free partitions up to its fair share, so several engines split the work and a dead
 * engine's partitions are taken over once its leases expire. One extra lease, `leader`,
 * elects the engine that runs the scheduler and the timers.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';

export interface LeaseListener {
  acquired(lease: string): Promise<void> | void;
  released(lease: string): Promise<void> | void;
}

export const LEADER = 'leader';
const partitionLease = (p: number) => `p.${p}`;

export class Leases {
  private readonly held = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly engineId: string,
    private readonly partitions: number,
    private readonly listener: LeaseListener,
    private readonly logger: Logger,
    private readonly renewEveryMs = 2000,
  ) {}

  holds(lease: string) {
    return this.held.has(lease);
  }

  async start() {
    await this.tick();
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.renewEveryMs);
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    for (const lease of [...this.held.keys()]) await this.release(lease);
    await this.kv.delete(`e.${this.engineId}`).catch(() => undefined);
  }

  private async tick() {
    try {
      await this.kv.put(`e.${this.engineId}`, this.engineId);
      for (const [lease, revision] of [...this.held]) {
        try {
          this.held.set(lease, await this.kv.update(lease, this.engineId, revision));
        } catch {
          this.logger.warn({ lease }, 'lease lost');
          this.held.delete(lease);
          await this.listener.released(lease);
        }
      }
      const keys = new Set<string>();
      for await (const key of await this.kv.keys()) keys.add(key);
      const engines = [...keys].filter((k) => k.startsWith('e.')).length || 1;
      const share = Math.ceil(this.partitions / engines);
      let mine = [...this.held.keys()].filter((k) => k !== LEADER).length;
      if (!keys.has(LEADER)) await this.tryAcquire(LEADER);
      for (let p = 0; p < this.partitions && mine < share; p++) {
        const lease = partitionLease(p);
        if (!keys.has(lease) && (await this.tryAcquire(lease))) mine++;
      }
      for (let p = this.partitions - 1; p >= 0 && mine > share; p--) {
        if (this.held.has(partitionLease(p))) {
          await this.release(partitionLease(p));
          mine--;
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'lease renewal failed');
    }
  }

  private async tryAcquire(lease: string): Promise<boolean> {
    if (this.stopped) return false;
    try {
      this.held.set(lease, await this.kv.create(lease, this.engineId));
    } catch {
      return false;
    }
    try {
      await this.listener.acquired(lease);
    } catch (err) {
      this.logger.error({ err, lease }, 'could not start serving a lease');
      await this.release(lease);
      return false;
    }
    return true;
  }

  private async release(lease: string) {
    const revision = this.held.get(lease);
    this.held.delete(lease);
    await this.listener.released(lease);
    if (revision !== undefined)
      await this.kv.delete(lease, { previousSeq: revision }).catch(() => undefined);
  }
}

export function partitionOfLease(lease: string): number | undefined {
  return lease.startsWith('p.') ? Number(lease.slice(2)) : undefined;
}
