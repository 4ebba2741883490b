/**
 * Messages refused at the boundary: anyone on the NATS account can publish on Skein's
 * subjects, so a message that does not decode or fit its schema is dropped (or answered with
 * an error) and counted here by reason, never allowed to throw out of a subscription.
 * Counts are kept per logger, the one an engine or a client hands its parts, so `/status`
 * can show them; the log gets the first rejection of each reason at once and then one summary
 * line per reason and interval, not one line per message.
 */
import type { Msg } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { NewerFormatError } from './format.js';

/** A logger writes at most one line per reason in this interval (the first at once, then a summary). */
export const REJECTION_LOG_INTERVAL_MS = 10_000;
/** The reason a record written by a newer Skein is counted under, whatever its kind. */
export const NEWER_FORMAT = 'newer-format';
const DETAIL_CHARS = 300;

class Rejections {
  readonly counts: Record<string, number> = {};
  /** Per reason: rejections not logged yet, and the last one's detail. */
  private readonly unlogged = new Map<string, { n: number; detail: string }>();
  private readonly loggedAt = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  private newerLogged = false;

  constructor(private readonly logger: Logger) {}

  /** Not garbage, and the same cause every time: one line says so, the count says how many. */
  newer(err: NewerFormatError) {
    this.counts[NEWER_FORMAT] = (this.counts[NEWER_FORMAT] ?? 0) + 1;
    if (this.newerLogged) return;
    this.newerLogged = true;
    this.logger.warn(
      { reason: NEWER_FORMAT, detail: err.message },
      'skipped a record written by a newer Skein: upgrade this process (README "Upgrading")',
    );
  }

  add(reason: string, detail: string) {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    const now = Date.now();
    const last = this.loggedAt.get(reason);
    if (last === undefined || now - last >= REJECTION_LOG_INTERVAL_MS) {
      this.loggedAt.set(reason, now);
      this.logger.warn(
        { reason, detail, total: this.counts[reason] },
        'rejected a malformed message',
      );
      return;
    }
    const pending = this.unlogged.get(reason);
    if (pending) {
      pending.n++;
      pending.detail = detail;
    } else this.unlogged.set(reason, { n: 1, detail });
    this.timer ??= setTimeout(() => this.flush(), REJECTION_LOG_INTERVAL_MS).unref();
  }

  private flush() {
    this.timer = undefined;
    const now = Date.now();
    for (const [reason, { n, detail }] of this.unlogged) {
      this.loggedAt.set(reason, now);
      this.logger.warn(
        { reason, rejected: n, lastDetail: detail, total: this.counts[reason] },
        `rejected ${n} more malformed messages`,
      );
    }
    this.unlogged.clear();
  }
}

const byLogger = new WeakMap<Logger, Rejections>();

function rejectionsOf(logger: Logger): Rejections {
  let r = byLogger.get(logger);
  if (!r) byLogger.set(logger, (r = new Rejections(logger)));
  return r;
}

/**
 * Counts (and, rate-limited, logs) one message refused for `reason`; one written by a newer
 * Skein is counted under NEWER_FORMAT instead, and logged once per logger.
 */
export function rejected(logger: Logger, reason: string, err?: unknown) {
  if (err instanceof NewerFormatError) return rejectionsOf(logger).newer(err);
  const text = err instanceof Error ? err.message : err === undefined ? '' : String(err);
  rejectionsOf(logger).add(
    reason,
    text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS)}…` : text,
  );
}

/** Rejected messages by reason, for a status document. */
export function rejectionCounts(logger: Logger): Record<string, number> {
  return { ...rejectionsOf(logger).counts };
}

/**
 * Wraps a subscription callback so that nothing it throws (or rejects with) escapes: a throw
 * inside a NATS callback would end the connection's read loop, an unhandled rejection the
 * process. What escapes is counted under `reason`.
 */
export function guarded(
  logger: Logger,
  reason: string,
  handle: (msg: Msg) => void | Promise<void>,
): (err: Error | null, msg: Msg) => void {
  return (_err, msg) => {
    try {
      const result = handle(msg);
      if (result) result.catch((e: unknown) => rejected(logger, reason, e));
    } catch (e) {
      rejected(logger, reason, e);
    }
  };
}
