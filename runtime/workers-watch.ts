/**
 * Follows the workers bucket, where every live worker puts its record (its heartbeat) every
 * WORKER_HEARTBEAT_MS, and watches it again when it has brought nothing for WATCH_SILENT_MS
 * while workers are expected. A KV watch reads through an ordered consumer of one replica on
 * the server leading the bucket's stream; when that server dies, the client makes it again only
 * once the server is back (seen with a node down for 30 s: no heartbeat for 32 s, every worker
 * taken for lost, dispatch paused 22 s). The new watch resumes after the last revision seen, so
 * nothing is read twice and nothing put meanwhile is missed. While the silence lasts (every
 * worker stopped, say) each new watch waits twice as long as the one before, up to 5 minutes.
 */
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { WORKER_HEARTBEAT_MS } from '../actors/scheduler/state.js';

const WATCH_SILENT_MS = 3 * WORKER_HEARTBEAT_MS;
const MAX_WATCH_SILENT_MS = 300_000;

type Watch = Awaited<ReturnType<KV['watch']>>;

export class WorkersWatch {
  private watch?: Watch;
  private lastRevision = 0;
  private lastEntryAt = Date.now();
  private check?: NodeJS.Timeout;
  private rewatching = false;
  /** Watches made again since the last entry. */
  private rewatches = 0;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly onEntry: (entry: KvWatchEntry) => void,
    /** Whether heartbeats are expected now (some worker is known to be alive). */
    private readonly expectEntries: () => boolean,
    private readonly logger: Logger,
  ) {}

  async start() {
    this.stopped = false;
    this.lastEntryAt = Date.now();
    await this.follow();
    this.check = setInterval(() => void this.rewatchIfSilent(), WORKER_HEARTBEAT_MS);
    this.check.unref();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.check);
    this.watch?.stop();
    this.watch = undefined;
  }

  private async follow() {
    const watch = await this.kv.watch({
      key: 'w.>',
      ...(this.lastRevision > 0 && { resumeFromRevision: this.lastRevision + 1 }),
    });
    // Stopped while the watch was being made (a watch made again during a partition comes
    // back once it heals): a stopped scheduler must hear no heartbeat, or it acts on them.
    if (this.stopped) return watch.stop();
    this.watch = watch;
    void (async () => {
      for await (const entry of watch) {
        if (this.stopped) break;
        if (entry.revision <= this.lastRevision) continue;
        this.lastRevision = entry.revision;
        this.lastEntryAt = Date.now();
        this.rewatches = 0;
        this.onEntry(entry);
      }
    })();
  }

  private async rewatchIfSilent() {
    const silentMs = Date.now() - this.lastEntryAt;
    const patience = Math.min(WATCH_SILENT_MS * 2 ** this.rewatches, MAX_WATCH_SILENT_MS);
    if (this.rewatching || !this.watch || silentMs < patience || !this.expectEntries()) return;
    this.rewatching = true;
    try {
      this.watch.stop();
      await this.follow();
      this.lastEntryAt = Date.now();
      const level = this.rewatches++ === 0 ? 'info' : 'debug';
      this.logger[level]({ silentMs }, 'workers bucket watched again');
    } catch (err) {
      this.logger.debug({ err }, 'could not watch the workers bucket again; trying again');
    } finally {
      this.rewatching = false;
    }
  }
}
