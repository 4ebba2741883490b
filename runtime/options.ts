/**
 * Options Skein does not know are refused, not ignored: a name from another SDK (Hatchet's
 * `on: { event }`, `slotCost`, …) or a typo would otherwise leave a workflow that is never
 * triggered, with nothing said. The error names the option and, where there is one, Skein's.
 */
import { ValidationError } from './errors.js';

/** Names users bring from other SDKs, and Skein's name for the same option where it has one. */
const RENAMED: Record<string, string> = {
  timeout: 'executionTimeout',
  workerLabels: 'desiredWorkerLabels',
  childKey: 'key',
  idempotencyKey: 'key',
  considerEventsSince: 'since',
  maxRuns: 'slots',
  key: 'staticKey',
  password: 'pass',
  username: 'user',
};

/** Names from other SDKs that Skein has no option for, and what to do instead. */
const EXPLAINED: Record<string, string> = {
  on: 'Skein names triggers onEvents (for on.event) and onCrons (for on.cron)',
  idempotency:
    'Skein has no declared idempotency: give a trigger an idempotency key with the run option key',
  slotCost: 'Skein has no slot cost: every task run takes one slot of its worker',
  returnExceptions: "pass { returnExceptions } as runMany's second argument",
};

/**
 * The option names of `T`, listed once: a name `T` lacks, or one of `T`'s left out, does not
 * compile, so the list cannot drift from the type.
 */
export function optionNames<T>(names: Record<keyof T, true>): readonly string[] {
  return Object.keys(names);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Edit distance, for telling a typo's intended name. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

function hint(name: string, known: readonly string[]): string {
  const renamed = RENAMED[name];
  if (renamed !== undefined && known.includes(renamed)) return `did you mean '${renamed}'?`;
  if (EXPLAINED[name] !== undefined) return EXPLAINED[name];
  const close = known
    .map((k) => ({ k, d: distance(name.toLowerCase(), k.toLowerCase()) }))
    .filter(({ d }) => d <= Math.min(2, Math.floor(name.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  if (close) return `did you mean '${close.k}'?`;
  return `known options: ${known.join(', ')}`;
}

/**
 * Throws a ValidationError naming every key of `value` that is not in `known`, each with a
 * hint. Anything but a plain object is left to the option's own check.
 */
export function checkOptions(value: unknown, known: readonly string[], where: string): void {
  if (!isPlainObject(value)) return;
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const each = unknown.map((k) => `'${k}' (${hint(k, known)})`);
  throw new ValidationError(
    `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${each.join(', ')}`,
  );
}
