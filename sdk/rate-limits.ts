/** `skein.rateLimits`: rate limits that tasks name with `rateLimits: [{ staticKey, units }]`. */
import { Kvm, type KV } from '@nats-io/kv';
import { encode } from '../runtime/codec.js';
import type { RateLimitRecord } from '../runtime/protocol.js';
import type { SdkConnection } from './connection.js';
import type { RateLimitDuration } from './enums.js';
import { ConnectionError, ValidationError } from './errors.js';
import { checkId } from './ids.js';
import { periodMs, positiveWhole } from './placement.js';
import { checkOptions, optionNames } from '../runtime/options.js';

export interface RateLimitOptions {
  key: string;
  /** At most this many units in any span of `duration`. */
  limit: number;
  duration: RateLimitDuration;
}

/** A rate limit and its sliding window now, as the scheduler counts it. */
export interface RateLimitInfo {
  key: string;
  limit: number;
  durationMs: number;
  /** Units granted within the last `durationMs`. */
  used: number;
  /** When the oldest of those units leaves the window; null when none are used. */
  windowEndsAt: Date | null;
}

const RATE_LIMIT_OPTIONS = optionNames<RateLimitOptions>({
  key: true,
  limit: true,
  duration: true,
});

export class RateLimitsClient {
  private bucket?: Promise<KV>;

  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(private readonly conn: SdkConnection) {}

  /** Creates or changes a rate limit; the scheduler applies it at once (a sliding window). */
  async upsert(options: RateLimitOptions): Promise<void> {
    if (typeof options !== 'object' || options === null)
      throw new ValidationError('rateLimits.upsert takes { key, limit, duration }');
    checkOptions(options, RATE_LIMIT_OPTIONS, 'rateLimits.upsert');
    const { key } = options;
    checkId('rate limit key', key);
    const where = `rate limit '${key}'`;
    const record: RateLimitRecord = {
      key,
      limit: positiveWhole(options.limit, `${where}: limit`),
      durationMs: periodMs(options.duration, where),
    };
    const kv = await this.open();
    await kv.put(this.conn.names.rateLimitKey(key), encode(record));
  }

  /** The rate limits upserted so far, by key, with how much of each window is used now. */
  async list(): Promise<RateLimitInfo[]> {
    const limits = await this.conn.api('rateLimits.list', {});
    return limits.map((l) => ({
      ...l,
      windowEndsAt: l.windowEndsAt === null ? null : new Date(l.windowEndsAt),
    }));
  }

  private readonly open = (): Promise<KV> => {
    this.bucket ??= this.conn.ready().then(async ({ nc }) => {
      try {
        return await new Kvm(nc).open(this.conn.names.buckets.rateLimits);
      } catch (err) {
        this.bucket = undefined;
        throw new ConnectionError(
          `no rate-limits bucket in namespace '${this.conn.names.ns}': start an engine of this version first (${String(err)})`,
        );
      }
    });
    return this.bucket;
  };
}
