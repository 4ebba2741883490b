/**
 * Partition leases in a KV bucket whose entries expire: each engine renews what it holds and
 * takes free partitions up to its fair share, so several engines split the work. One extra
 * lease, `leader`, elects the engine that runs the scheduler and the timers.
 *
 * Every lease names its holder (engine id and instance), and every engine keeps a record
 * `e.<id>` naming its live instance. A dead holder is found two ways: its process ended, which
 * its presence subject shows within a second (runtime/liveness.ts), or it stopped
 * renewing (a stall, a half-open connection), which the bucket's TTL ends. Leases change hands
 * only by compare-and-set on the revision last seen, so the bucket never names two holders of
 * one lease; an engine that finds a lease changed under it stops serving it at once.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { EnginePresence } from './liveness.js';
import { ValidationError } from './errors.js';

export interface LeaseListener {
  acquired(lease: string): Promise<void> | void;
  released(lease: string): Promise<void> | void;
}

/** One engine process: its id (stable across restarts, e.g. the host name) and this run of it. */
export interface EngineIdentity {
  id: string;
  instance: string;
}

export const LEADER = 'leader';
/** The leases bucket's TTL: a lease not renewed for this long is free to take. */
export const LEASE_TTL_MS = 10_000;
/**
 * A holder that has not renewed a lease for this long (counted from when its last successful
 * renewal was sent) stops serving it on its own, before the bucket can hand it to another: a
 * partitioned engine must not go on serving what it can no longer prove it holds.
 */
const GIVE_UP_AFTER_MS = LEASE_TTL_MS * 0.8;
const partitionLease = (p: number) => `p.${p}`;
const engineRecord = (id: string) => `e.${id}`;

/** How often the other engines named in the bucket are probed. */
const PROBE_EVERY_MS = 250;
/** An instance is dead once it has had no connection this long: a reconnecting one is back sooner. */
const CONFIRM_GONE_MS = 500;

/** An engine id is a KV key token: letters, digits, '_' and '-', in '.'-separated parts. */
export function validateEngineId(id: string): string {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(id) || id.length > 255)
    throw new ValidationError(
      `engine id '${id}' is invalid: use 1-255 letters, digits, '_', '-' or inner '.' (a host name fits)`,
    );
  return id;
}

const encodeHolder = (who: EngineIdentity) => JSON.stringify(who);

function parseHolder(value: string): EngineIdentity | undefined {
  try {
    const v = JSON.parse(value) as Partial<EngineIdentity>;
    return typeof v.id === 'string' && typeof v.instance === 'string'
      ? { id: v.id, instance: v.instance }
      : undefined;
  } catch {
    return undefined; // written by an older engine: only its expiry frees it
  }
}

interface Foreign {
  holder?: EngineIdentity;
  revision: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long a renewal waits for the bucket. One that has no answer by then is tried again at the
 * next tick: while the bucket's stream elects a leader (4-9 s after a NATS node dies), waiting
 * out the client's 5 s timeout would leave too few tries before the give-up margin is spent.
 */
const ANSWER_WITHIN_MS = 1_500;

/** `p`, or a rejection once ANSWER_WITHIN_MS passed (the request itself may still land). */
function answered<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('no answer from the leases bucket')),
      ANSWER_WITHIN_MS,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class Leases {
  private readonly held = new Map<string, number>();
  /** When the last successful write of each held lease was sent (performance.now()). */
  private readonly renewedAt = new Map<string, number>();
  private readonly me: string;
  private identityRevision = 0;
  /** Other instances named in the bucket at the last look. */
  private others = new Set<string>();
  /** Instances whose connection was missing at a probe, since when. */
  private readonly suspectSince = new Map<string, number>();
  /** Instances found dead: their leases are free to take. */
  private readonly gone = new Set<string>();
  private renewTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private again = false;
  private probing = false;
  private stopped = false;
  private fenced = false;
  /** Leases taken and let go since the last summary, logged once per batch (`logChanges`). */
  private readonly changed = { acquired: [] as string[], released: [] as string[] };

  private readonly self: EngineIdentity;

  constructor(
    private readonly kv: KV,
    engineId: string,
    private readonly partitions: number,
    private readonly listener: LeaseListener,
    private readonly logger: Logger,
    /** This instance's presence; its `instance` names this run of the engine. */
    private readonly presence: EnginePresence,
    private readonly renewEveryMs = 2000,
  ) {
    this.self = { id: engineId, instance: presence.instance };
    this.me = encodeHolder(this.self);
  }

  holds(lease: string) {
    return this.held.has(lease);
  }

  /**
   * Claims this engine's id (refused while another live instance has it), then takes its
   * share. A dead earlier instance of the same id gives its leases over at once.
   */
  async start() {
    await this.presence.start();
    try {
      await this.claimIdentity();
    } catch (err) {
      this.presence.stop();
      throw err;
    }
    await this.kick();
    this.renewTimer = setInterval(() => void this.kick(), this.renewEveryMs);
    this.probeTimer = setInterval(() => {
      void this.giveUpUnrenewed();
      void this.probeOthers();
    }, PROBE_EVERY_MS);
  }

  /** Stops serving the leases whose renewal is overdue (a tick stuck on a silent connection). */
  private async giveUpUnrenewed() {
    const now = performance.now();
    const overdue = [...this.held.keys()].filter(
      (lease) => now - (this.renewedAt.get(lease) ?? now) >= GIVE_UP_AFTER_MS,
    );
    if (overdue.length === 0) return;
    for (const lease of overdue) this.held.delete(lease);
    this.logger.warn(
      { leases: describeLeases(overdue) },
      'leases not renewed in time: no longer serving them',
    );
    // Side by side: stopping one may wait on the silent connection, the others must not wait for it.
    await Promise.all(overdue.map((lease) => this.stopServing(lease)));
    this.logChanges();
  }

  /** Stops serving a lease no longer held. */
  private async stopServing(lease: string) {
    this.changed.released.push(lease);
    await this.listener.released(lease);
  }

  /** One line for the leases that changed hands since the last one, if any. */
  private logChanges() {
    const { acquired, released } = this.changed;
    if (acquired.length === 0 && released.length === 0) return;
    this.logger.info(
      {
        ...(acquired.length > 0 && { acquired: describeLeases(acquired) }),
        ...(released.length > 0 && { released: describeLeases(released) }),
        serving: describeLeases(this.held.keys()),
      },
      'leases changed',
    );
    this.changed.acquired = [];
    this.changed.released = [];
  }

  /** Renews now and gives up what another engine took meanwhile (after a reconnection, say). */
  verify(): Promise<void> {
    return this.kick();
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.renewTimer);
    clearInterval(this.probeTimer);
    await this.ticking;
    for (const lease of [...this.held.keys()]) await this.release(lease);
    this.logChanges();
    if (!this.fenced)
      await this.kv
        .delete(engineRecord(this.self.id), { previousSeq: this.identityRevision })
        .catch(() => undefined);
    this.presence.stop();
  }

  private async claimIdentity() {
    const key = engineRecord(this.self.id);
    for (let warned = false; ;) {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') {
        const created = await this.kv.create(key, this.me).catch(() => undefined);
        if (created === undefined) {
          await sleep(100); // another instance was quicker: look again
          continue;
        }
        this.identityRevision = created;
        return;
      }
      const earlier = parseHolder(entry.string());
      // One probe is proof enough here: an earlier instance that was only cut off finds its
      // record taken when it is back, and stops serving (renewIdentity).
      const presence = earlier ? await this.presence.probe(earlier.instance) : 'unknown';
      if (presence === 'alive')
        throw new Error(
          `an engine with id '${this.self.id}' is already running on this namespace: ` +
            'give each engine its own id (skein engine --id, startEngine({ id }))',
        );
      if (presence === 'gone') {
        const updated = await this.kv.update(key, this.me, entry.revision).catch(() => undefined);
        if (updated === undefined) {
          await sleep(100);
          continue;
        }
        this.identityRevision = updated;
        this.gone.add(earlier!.instance);
        this.logger.info(
          { previous: earlier!.instance },
          'the previous instance of this engine is dead: taking its leases over',
        );
        return;
      }
      if (!warned)
        this.logger.warn(
          'the previous instance of this engine does not answer: waiting for its record to expire',
        );
      warned = true;
      await sleep(500);
    }
  }

  /** Runs one tick, or one more after the current one. */
  private kick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    const run = async () => {
      do {
        this.again = false;
        await this.tick();
        this.logChanges();
      } while (this.again && !this.stopped);
    };
    this.ticking = run().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async tick() {
    if (this.stopped || this.fenced) return;
    try {
      // Side by side: on a slow link one round trip each in turn could outlast the TTL. A
      // lease renewed while this instance is found replaced is released with the rest.
      const [identity] = await Promise.allSettled([
        this.renewIdentity(),
        ...[...this.held].map(([lease, revision]) => this.renew(lease, revision)),
      ]);
      if (identity.status === 'rejected') throw identity.reason;
      if (!identity.value) return;
      const view = await answered(this.look());
      this.others = new Set(
        [...view.values()].flatMap((f) => (f.holder ? [f.holder.instance] : [])),
      );
      const isGone = (f: Foreign) => f.holder !== undefined && this.gone.has(f.holder.instance);
      // A dead engine's record goes, so that the fair share counts live engines only.
      for (const [key, f] of view) {
        if (!key.startsWith('e.') || !isGone(f)) continue;
        await this.kv.delete(key, { previousSeq: f.revision }).catch(() => undefined);
        view.delete(key);
      }
      const engines = 1 + [...view.keys()].filter((k) => k.startsWith('e.')).length;
      const share = Math.ceil(this.partitions / engines);
      // Named after this instance but not held: given up while the bucket did not answer. No
      // other engine serves it (it would have written its name), so it is taken back by its
      // revision rather than after its expiry.
      const isMine = (f: Foreign) => f.holder?.instance === this.self.instance;
      /** 0: nobody holds it; a revision: its holder is dead, or this instance; undefined: held by a live engine. */
      const free = (lease: string) => {
        const f = view.get(lease);
        return f === undefined ? 0 : isGone(f) || isMine(f) ? f.revision : undefined;
      };
      const heldPartitions = () => [...this.held.keys()].filter((k) => k !== LEADER).length;
      const candidates = Array.from({ length: this.partitions }, (_, p) =>
        partitionLease(p),
      ).filter((lease) => !this.held.has(lease) && free(lease) !== undefined);
      // Taken side by side, so a dead engine's partitions all start serving at once; the ones
      // another engine was quicker to take are made up for from the rest.
      let leader = !this.held.has(LEADER) && free(LEADER) !== undefined ? [LEADER] : [];
      for (let need = share - heldPartitions(); need > 0 && candidates.length > 0;) {
        const batch = [...leader, ...candidates.splice(0, need)];
        leader = [];
        await Promise.all(batch.map((lease) => this.tryAcquire(lease, free(lease))));
        need = share - heldPartitions();
      }
      if (leader.length > 0) await this.tryAcquire(LEADER, free(LEADER));
      let mine = heldPartitions();
      for (let p = this.partitions - 1; p >= 0 && mine > share; p--) {
        if (this.held.has(partitionLease(p))) {
          await this.release(partitionLease(p));
          mine--;
        }
      }
      for (const instance of this.gone) if (!this.others.has(instance)) this.gone.delete(instance);
    } catch (err) {
      this.logger.warn({ err }, 'lease renewal failed');
    }
  }

  /**
   * Renews one held lease. A write that fails without an answer from the bucket (no leader
   * while a NATS node dies, a timeout) keeps the lease: giveUpUnrenewed stops serving it once
   * its renewal is overdue, before the bucket could hand it to another. A write the bucket
   * refuses (the entry is at another revision) loses it, unless the entry names this instance
   * at a newer revision (a renewal whose answer was lost) and a compare-and-set on that
   * revision confirms it: a read may come from a replica that is behind, the write may not.
   */
  private async renew(lease: string, revision: number, confirming = false): Promise<void> {
    const sentAt = performance.now();
    let refused = false;
    try {
      const next = await answered(this.kv.update(lease, this.me, revision));
      // Given up meanwhile (giveUpUnrenewed): it is served no more, so let it go.
      if (!this.held.has(lease))
        await this.kv.delete(lease, { previousSeq: next }).catch(() => undefined);
      else {
        this.held.set(lease, next);
        this.renewedAt.set(lease, sentAt);
      }
      return;
    } catch (err) {
      refused =
        err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
    }
    const entry = await answered(this.kv.get(lease)).catch(() => undefined); // undefined: no answer
    if (!this.held.has(lease)) return;
    const mine =
      entry?.operation === 'PUT' && parseHolder(entry.string())?.instance === this.self.instance;
    if (mine && entry.revision > revision) {
      this.held.set(lease, entry.revision);
      if (refused && !confirming) return this.renew(lease, entry.revision, true);
    }
    if (!refused && (entry === undefined || mine)) {
      this.logger.info({ lease }, 'lease renewal failed; still serving it until it is overdue');
      return;
    }
    this.logger.warn({ lease }, 'lease lost');
    this.held.delete(lease);
    await this.stopServing(lease);
  }

  /** Renews this engine's record; false when another instance of its id took it over. */
  private async renewIdentity(): Promise<boolean> {
    const key = engineRecord(this.self.id);
    try {
      this.identityRevision = await answered(this.kv.update(key, this.me, this.identityRevision));
      return true;
    } catch {
      // changed or expired: see below
    }
    const entry = await answered(this.kv.get(key));
    if (!entry || entry.operation !== 'PUT') {
      // expired while this one stalled
      this.identityRevision = await answered(this.kv.create(key, this.me));
      return true;
    }
    const holder = parseHolder(entry.string());
    if (holder?.instance === this.self.instance) {
      this.identityRevision = entry.revision; // the last renewal landed, its answer did not
      return true;
    }
    this.fenced = true;
    this.logger.error(
      { other: holder?.instance },
      `another engine started with id '${this.self.id}' and took this one's place ` +
        '(it found this one unreachable): this instance serves nothing from now on; ' +
        'stop it, and give each engine its own id',
    );
    for (const lease of [...this.held.keys()]) await this.release(lease);
    return false;
  }

  /** The bucket's entries other than this engine's own, with their holders. */
  private async look(): Promise<Map<string, Foreign>> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    const view = new Map<string, Foreign>();
    const mine = engineRecord(this.self.id);
    await Promise.all(
      keys
        .filter((k) => k !== mine && !this.held.has(k))
        .map(async (key) => {
          const entry = await this.kv.get(key);
          if (entry?.operation === 'PUT')
            view.set(key, { holder: parseHolder(entry.string()), revision: entry.revision });
        }),
    );
    return view;
  }

  /** Probes every other engine; one found dead starts a tick that takes its leases. */
  private async probeOthers() {
    if (this.probing || this.stopped || this.fenced) return;
    this.probing = true;
    try {
      let confirmed = false;
      await Promise.all(
        [...this.others].map(async (instance) => {
          const presence = await this.presence.probe(instance);
          const now = performance.now();
          if (presence !== 'gone') {
            this.suspectSince.delete(instance);
            if (presence === 'alive') this.gone.delete(instance);
            return;
          }
          if (this.gone.has(instance)) return;
          const since = this.suspectSince.get(instance);
          if (since === undefined) this.suspectSince.set(instance, now);
          else if (now - since >= CONFIRM_GONE_MS) {
            this.suspectSince.delete(instance);
            this.gone.add(instance);
            confirmed = true;
            this.logger.warn({ instance }, 'an engine lost its connection: taking its leases over');
          }
        }),
      );
      if (confirmed) void this.kick();
    } finally {
      this.probing = false;
    }
  }

  /** `revision`: 0 to create the lease, the dead holder's revision to take it over. */
  private async tryAcquire(lease: string, revision: number | undefined): Promise<boolean> {
    if (this.stopped || revision === undefined) return false;
    this.renewedAt.set(lease, performance.now());
    try {
      this.held.set(
        lease,
        revision === 0
          ? await this.kv.create(lease, this.me)
          : await this.kv.update(lease, this.me, revision),
      );
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
    this.changed.acquired.push(lease);
    return true;
  }

  private async release(lease: string) {
    const revision = this.held.get(lease);
    this.held.delete(lease);
    await this.stopServing(lease);
    if (revision !== undefined)
      await this.kv.delete(lease, { previousSeq: revision }).catch(() => undefined);
  }
}

/** Leases in a short line: `leader, p 0-7,12` (partitions sorted, runs of them as ranges). */
export function describeLeases(leases: Iterable<string>): string {
  const parts: number[] = [];
  const others: string[] = [];
  for (const lease of new Set(leases)) {
    const p = partitionOfLease(lease);
    if (p === undefined) others.push(lease);
    else parts.push(p);
  }
  parts.sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < parts.length;) {
    let j = i;
    while (j + 1 < parts.length && parts[j + 1] === parts[j] + 1) j++;
    runs.push(j === i ? `${parts[i]}` : `${parts[i]}-${parts[j]}`);
    i = j + 1;
  }
  others.sort();
  if (runs.length > 0) others.push(`p ${runs.join(',')}`);
  return others.join(', ');
}

export function partitionOfLease(lease: string): number | undefined {
  return lease.startsWith('p.') ? Number(lease.slice(2)) : undefined;
}
