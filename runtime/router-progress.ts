/**
 * The event router's progress: the events stream sequence at and below which every event was
 * routed and acked (its consumer's ack floor), kept under one key of the snapshots bucket.
 * A router consumer deleted behind the engine is made again after it rather than from the
 * stream's start, so kept events whose runs were deleted (retention) do not start them again.
 * Written every few seconds and only when it moved (no write per event); it lags the floor,
 * and what lies between is routed again, idempotently for runs that still exist.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Names } from './protocol.js';
import { kvStream } from './message-deletes.js';

export const ROUTER_PROGRESS_KEY = 'router-progress';
const WRITE_EVERY_MS = 2000;

/** `created`: the events stream's creation time, so a stream made again is not skipped into. */
const progressSchema = z.object({ seq: z.number().int().nonnegative(), created: z.string() });
export type RouterProgress = z.infer<typeof progressSchema>;

const progressSubject = (n: Names) => `$KV.${n.buckets.snapshots}.${ROUTER_PROGRESS_KEY}`;

export async function readRouterProgress(
  jsm: JetStreamManager,
  n: Names,
): Promise<RouterProgress | undefined> {
  try {
    const m = await jsm.streams.getMessage(kvStream(n.buckets.snapshots), {
      last_by_subj: progressSubject(n),
    });
    if (!m) return undefined;
    const parsed = progressSchema.safeParse(m.json());
    return parsed.success ? parsed.data : undefined;
  } catch (err) {
    // No bucket yet (a brand-new namespace: consumers are made before buckets), or no key.
    if (
      err instanceof JetStreamApiError &&
      (err.code === JetStreamApiCodes.NoMessageFound ||
        err.code === JetStreamApiCodes.StreamNotFound)
    )
      return undefined;
    throw err;
  }
}

/**
 * The sequence a router consumer made again starts from: after the stored progress, when it
 * was stored for this very stream and does not lie beyond its end; else the stream's start.
 */
export async function routerStartSeq(jsm: JetStreamManager, n: Names): Promise<number> {
  const [stream, progress] = await Promise.all([
    jsm.streams.info(n.streams.events),
    readRouterProgress(jsm, n),
  ]);
  if (!progress || progress.created !== stream.created || progress.seq > stream.state.last_seq)
    return 1;
  return progress.seq + 1;
}

/** Writes the router consumer's ack floor every few seconds while the router runs. */
export class RouterProgressWriter {
  private timer?: NodeJS.Timeout;
  private written?: RouterProgress;
  private writing = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: Names,
    private readonly logger: Logger,
  ) {}

  async start() {
    this.written = await readRouterProgress(this.jsm, this.names);
    this.timer = setInterval(() => void this.write(), WRITE_EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async write() {
    if (this.writing) return;
    this.writing = true;
    try {
      const stream = this.names.streams.events;
      const [info, streamInfo] = await Promise.all([
        this.jsm.consumers.info(stream, 'router'),
        this.jsm.streams.info(stream),
      ]);
      const next = { seq: info.ack_floor.stream_seq, created: streamInfo.created };
      // Never back: a consumer just made again may report a floor below where it started.
      if (next.created === this.written?.created && next.seq <= this.written.seq) return;
      if (!this.written && next.seq === 0) return; // nothing routed yet: nothing to keep
      await this.js.publish(progressSubject(this.names), JSON.stringify(next));
      this.written = next;
    } catch (err) {
      // A missing consumer is KeepRunning's to make again; the next tick tries again.
      this.logger.debug({ err }, 'router progress not written');
    } finally {
      this.writing = false;
    }
  }
}
