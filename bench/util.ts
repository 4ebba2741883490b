/** Small helpers shared by the benchmark phases. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function latencySummary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    mean,
  };
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

export const mb = (bytes: number) => bytes / (1024 * 1024);

/**
 * Awaits `work`, failing with a clear message when `progress()` has not moved for `stallMs`
 * (a stall) or the whole thing takes longer than `maxMs`.
 */
export async function watched<T>(
  label: string,
  work: Promise<T>,
  progress: () => string | number,
  stallMs = 30_000,
  maxMs = 240_000,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  let last = progress();
  let lastChange = Date.now();
  const guard = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = Date.now();
      const p = progress();
      if (p !== last) {
        last = p;
        lastChange = now;
      }
      if (now - lastChange > stallMs)
        reject(new Error(`${label}: stalled, no progress for ${stallMs} ms (progress: ${p})`));
      else if (now - started > maxMs)
        reject(new Error(`${label}: not done after ${maxMs} ms (progress: ${p})`));
    }, 500);
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearInterval(timer);
  }
}

/** A promise with its resolve and reject in hand. */
export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A whole-number knob from the environment (`dflt` when unset); anything else is refused. */
export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${v}`);
  return n;
}

export const say = (line = '') => process.stdout.write(`${line}\n`);
