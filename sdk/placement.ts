/** Flow-control options checked at declaration and trigger: rate limits, worker labels, sticky. */
import type { RateLimitSpec } from '../actors/run/placement.js';
import type { TaskSpec } from '../actors/run/spec.js';
import type { LabelWish } from '../actors/scheduler/queued-task.js';
import {
  StickyStrategy,
  WorkerLabelComparator,
  type DesiredLabel,
  type RateLimitDuration,
} from './enums.js';
import { assertCel } from './cel.js';
import { ValidationError } from './errors.js';
import { checkOptions, optionNames } from '../runtime/options.js';

const RATE_LIMIT_PERIODS: Record<RateLimitDuration, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

export function periodMs(duration: unknown, where: string): number {
  const ms = RATE_LIMIT_PERIODS[duration as RateLimitDuration];
  if (typeof duration !== 'string' || ms === undefined)
    throw new ValidationError(
      `${where}: duration must be 'second', 'minute', 'hour' or 'day', got ${JSON.stringify(duration)}`,
    );
  return ms;
}

export function positiveWhole(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ValidationError(`${where} must be a whole number >= 1, got ${JSON.stringify(value)}`);
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const RATE_LIMIT_REF = ['staticKey', 'dynamicKey', 'units', 'limit', 'duration'];
const LABEL_WISH = optionNames<DesiredLabel>({
  value: true,
  required: true,
  weight: true,
  comparator: true,
});

function rateLimitOf(ref: unknown, where: string): RateLimitSpec {
  if (!isObject(ref)) throw new ValidationError(`${where} must be an object`);
  checkOptions(ref, RATE_LIMIT_REF, where);
  const units = positiveWhole(ref.units ?? 1, `${where}: units`);
  const hasStatic = ref.staticKey !== undefined;
  if (hasStatic === (ref.dynamicKey !== undefined))
    throw new ValidationError(`${where} needs exactly one of staticKey and dynamicKey`);
  if (hasStatic) {
    if (typeof ref.staticKey !== 'string' || ref.staticKey.length === 0)
      throw new ValidationError(`${where}: staticKey must be a non-empty string`);
    return { staticKey: ref.staticKey, units };
  }
  const expression = ref.dynamicKey;
  if (typeof expression !== 'string' || expression.trim().length === 0)
    throw new ValidationError(`${where}: dynamicKey must be a CEL expression`);
  assertCel(expression, where);
  if (ref.limit === undefined || ref.duration === undefined)
    throw new ValidationError(`${where}: a dynamicKey needs its own limit and duration`);
  const limit = positiveWhole(ref.limit, `${where}: limit`);
  if (units > limit)
    throw new ValidationError(
      `${where}: units (${units}) exceed the limit (${limit}), so it could never start`,
    );
  return { dynamicKey: expression, units, limit, durationMs: periodMs(ref.duration, where) };
}

const COMPARATORS = new Set<string>(Object.values(WorkerLabelComparator));

export function desiredLabelsOf(
  value: unknown,
  where: string,
): Record<string, LabelWish> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value))
    throw new ValidationError(`${where}: desiredWorkerLabels must be an object of labels`);
  const out: Record<string, LabelWish> = {};
  for (const [name, wish] of Object.entries(value)) {
    const at = `${where}: desiredWorkerLabels.${name}`;
    if (!isObject(wish) || (typeof wish.value !== 'string' && typeof wish.value !== 'number'))
      throw new ValidationError(
        `${at} must be { value: string | number, required?, weight?, comparator? }`,
      );
    checkOptions(wish, LABEL_WISH, at);
    if (wish.required !== undefined && typeof wish.required !== 'boolean')
      throw new ValidationError(`${at}.required must be a boolean`);
    if (wish.weight !== undefined && !(typeof wish.weight === 'number' && wish.weight >= 0))
      throw new ValidationError(`${at}.weight must be a number >= 0`);
    if (wish.comparator !== undefined && !COMPARATORS.has(wish.comparator as string))
      throw new ValidationError(
        `${at}.comparator must be one of ${[...COMPARATORS].join(', ')}, got ${JSON.stringify(wish.comparator)}`,
      );
    out[name] = {
      value: wish.value,
      ...(wish.required !== undefined && { required: wish.required }),
      ...(wish.weight !== undefined && { weight: wish.weight }),
      ...(wish.comparator !== undefined && {
        comparator: wish.comparator as LabelWish['comparator'],
      }),
    };
  }
  return out;
}

export function stickyOf(value: unknown, where: string): StickyStrategy | undefined {
  if (value === undefined) return undefined;
  if (value !== StickyStrategy.SOFT && value !== StickyStrategy.HARD)
    throw new ValidationError(
      `${where}: sticky must be 'soft' or 'hard', got ${JSON.stringify(value)}`,
    );
  return value;
}

/** A task's rate limits and desired worker labels, as its TaskSpec carries them. */
export function placementSpecOf(
  o: { rateLimits?: unknown; desiredWorkerLabels?: unknown },
  where: string,
): Pick<TaskSpec, 'rateLimits' | 'desiredWorkerLabels'> {
  const out: Pick<TaskSpec, 'rateLimits' | 'desiredWorkerLabels'> = {};
  if (o.rateLimits !== undefined) {
    if (!Array.isArray(o.rateLimits))
      throw new ValidationError(`${where}: rateLimits must be a list`);
    const limits = o.rateLimits.map((r, i) => rateLimitOf(r, `${where}: rateLimits[${i}]`));
    if (limits.length > 0) out.rateLimits = limits;
  }
  const labels = desiredLabelsOf(o.desiredWorkerLabels, where);
  if (labels && Object.keys(labels).length > 0) out.desiredWorkerLabels = labels;
  return out;
}
