/**
 * Streaming from a task: `ctx.putStream(chunk)` publishes on the run's stream subject (core
 * NATS, not stored) and `skein.runs.subscribeToStream(runId)` reads it until the run ends.
 */
import { isTerminal, type RunEntrySummary } from '../actors/run/index.js';
import { decode, encode } from '../runtime/codec.js';
import { lastEntry } from '../runtime/journal-entries.js';
import { refusal } from '../runtime/permissions.js';
import { rejected } from '../runtime/rejections.js';
import type { SdkConnection } from './connection.js';
import { NotFoundError, ValidationError } from './errors.js';
import { checkId } from './ids.js';
import { toJson } from './json.js';
import type { RunWaiter } from './run-waiter.js';

/** The largest chunk `ctx.putStream` takes, encoded: a stream is for tokens and progress, not payloads. */
export const STREAM_CHUNK_MAX_BYTES = 64 * 1024;

/** A chunk as it goes on the bus; throws ValidationError for one JSON cannot hold or too large. */
export function encodeChunk(chunk: unknown): Uint8Array {
  const encoded = encode(toJson(chunk, 'stream chunk'));
  if (encoded.length > STREAM_CHUNK_MAX_BYTES)
    throw new ValidationError(
      `stream chunk is ${encoded.length} bytes encoded; ctx.putStream takes at most ` +
        `${STREAM_CHUNK_MAX_BYTES} bytes: send smaller pieces, or store large values as the task's output`,
    );
  return encoded;
}

/**
 * The run's chunks from now on, in order, until the run ends (at once if it has ended); an
 * unknown run is a NotFoundError on the first `next()`.
 */
export async function* subscribeToStream(
  conn: SdkConnection,
  waiter: RunWaiter,
  runId: string,
): AsyncGenerator<unknown, void, undefined> {
  checkId('runId', runId);
  const { nc, jsm } = await conn.ready();
  const queue: unknown[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const sub = nc.subscribe(conn.names.runStream(runId), {
    callback: (_err, msg) => {
      try {
        queue.push(decode(msg.data));
      } catch (err) {
        rejected(waiter.logger, 'stream-malformed', err);
        return;
      }
      notify();
    },
  });
  try {
    // Subscribed first, so no chunk published after the run was found goes unseen.
    await nc.flush();
    const last = await lastEntry(jsm, conn.names, 'run', runId).catch((err: unknown) => {
      throw refusal(err) ?? err;
    });
    if (!last) throw new NotFoundError(`no run with id '${runId}'`);
    const status = last === 'unreadable' ? undefined : (last.s as RunEntrySummary | undefined);
    if (status && isTerminal(status.status)) return;
    void waiter.ended(runId).then(
      async () => {
        // Chunks the server sent before the run's end notice are delivered before the flush's answer.
        await nc.flush().catch(() => undefined);
        ended = true;
        notify();
      },
      () => {
        ended = true; // the client closed: the stream ends with it
        notify();
      },
    );
    for (;;) {
      while (queue.length > 0) yield queue.shift();
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    sub.unsubscribe();
  }
}
