/**
 * The registered tasks and workflows, kept in memory from a watch on the registry bucket:
 * who subscribes to which event keys, and each name's current spec and defaults. `fresh()`
 * waits until the watch has seen every registration stored so far, so an event pushed after
 * a worker registered is routed to it even if the event overtakes the watch's update.
 * Calls to `fresh()` made while a check is queued share it.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { eventKeyMatches } from '../actors/events/match.js';
import { decode } from './codec.js';
import { rejected } from './rejections.js';
import { registeredTaskSchema, type RegisteredTask } from './protocol.js';

/** A registration the watch has not delivered after this long is given up on (logged). */
const FRESH_TIMEOUT_MS = 2000;

export class RegistryView {
  private readonly byName = new Map<string, RegisteredTask>();
  private seenRevision = 0;
  private readonly waiting = new Set<{ revision: number; resolve(): void }>();
  private queued?: Promise<void>;
  private running?: Promise<void>;
  private stopWatch?: () => void;

  constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  async start() {
    const watch = await this.kv.watch();
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch) {
        this.seenRevision = Math.max(this.seenRevision, entry.revision);
        try {
          if (entry.operation === 'PUT') {
            const reg = registeredTaskSchema.parse(decode(entry.value));
            this.byName.set(reg.spec.name, reg);
          }
        } catch (err) {
          rejected(this.logger, 'registration-malformed', err);
        }
        for (const w of this.waiting) {
          if (w.revision <= this.seenRevision) {
            this.waiting.delete(w);
            w.resolve();
          }
        }
      }
    })();
  }

  stop() {
    this.stopWatch?.();
    for (const w of this.waiting) w.resolve();
    this.waiting.clear();
  }

  get(name: string): RegisteredTask | undefined {
    return this.byName.get(name);
  }

  /** Registrations whose `onEvents` match `key`. */
  subscribersOf(key: string): RegisteredTask[] {
    const out: RegisteredTask[] = [];
    for (const reg of this.byName.values()) {
      if (reg.onEvents?.some((pattern) => eventKeyMatches(pattern, key))) out.push(reg);
    }
    return out;
  }

  /** Resolves once every registration stored before this call is in the view. */
  fresh(): Promise<void> {
    if (this.queued) return this.queued;
    // A failed check (say, while the server restarts) fails its callers only, not later ones.
    const previous = (this.running ?? Promise.resolve()).catch(() => undefined);
    const check: Promise<void> = previous.then(async () => {
      // From here on, new callers need a check of their own: this one may have started too early.
      this.queued = undefined;
      this.running = check;
      try {
        await this.caughtUp((await this.kv.status()).streamInfo.state.last_seq);
      } finally {
        if (this.running === check) this.running = undefined;
      }
    });
    this.queued = check;
    return check;
  }

  private caughtUp(revision: number): Promise<void> {
    if (revision <= this.seenRevision) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const w = { revision, resolve };
      this.waiting.add(w);
      setTimeout(() => {
        if (!this.waiting.delete(w)) return;
        this.logger.warn({ revision }, 'registry watch is behind; routing with what it has');
        resolve();
      }, FRESH_TIMEOUT_MS).unref();
    });
  }
}
