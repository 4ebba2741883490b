/** `concurrency` options, checked at declaration and turned into the run's form. */
import { concurrencyKey } from '../actors/run/admission.js';
import type { ConcurrencySpec, RunSpec } from '../actors/run/spec.js';
import type { ConcurrencyExpression } from './enums.js';
import { assertCel } from './cel.js';
import { ValidationError } from './errors.js';
import { checkOptions, optionNames } from '../runtime/options.js';
import { CONCURRENCY_STRATEGIES } from '../actors/concurrency/messages.js';

const EXPRESSION_OPTIONS = optionNames<ConcurrencyExpression>({
  expression: true,
  maxRuns: true,
  limitStrategy: true,
});

type ConcurrencyOption = number | ConcurrencyExpression | ConcurrencyExpression[];

export function concurrencyOf(
  value: ConcurrencyOption | undefined,
  where: string,
): ConcurrencySpec[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'number' ? [value] : Array.isArray(value) ? value : [value];
  if (list.length === 0) return undefined;
  return list.map((c, i) => {
    const at = list.length > 1 ? `${where}: concurrency[${i}]` : `${where}: concurrency`;
    if (typeof c === 'number') c = { expression: "'constant'", maxRuns: c };
    if (typeof c !== 'object' || c === null)
      throw new ValidationError(
        `${at} must be a number or { expression, maxRuns, limitStrategy? }`,
      );
    checkOptions(c, EXPRESSION_OPTIONS, at);
    if (!Number.isInteger(c.maxRuns) || c.maxRuns < 1)
      throw new ValidationError(
        `${at}.maxRuns must be a whole number >= 1, got ${JSON.stringify(c.maxRuns)}`,
      );
    if (typeof c.expression !== 'string' || c.expression.trim() === '')
      throw new ValidationError(`${at}.expression must be a CEL expression`);
    assertCel(c.expression, at);
    const strategy = c.limitStrategy ?? 'GROUP_ROUND_ROBIN';
    if (!CONCURRENCY_STRATEGIES.includes(strategy))
      throw new ValidationError(
        `${at}.limitStrategy must be one of ${CONCURRENCY_STRATEGIES.join(', ')}`,
      );
    return { expression: c.expression, maxRuns: c.maxRuns, strategy };
  });
}

/** Refuses a trigger whose input a concurrency expression cannot key, before anything is stored. */
export function checkConcurrencyKeys(
  spec: RunSpec,
  run: { input: unknown; additionalMetadata: Record<string, string> },
) {
  const owners = [
    { name: spec.name, concurrency: spec.concurrency },
    ...spec.tasks.map((t) => ({ name: t.name, concurrency: t.concurrency })),
  ];
  for (const { name, concurrency } of owners) {
    for (const c of concurrency ?? []) {
      try {
        concurrencyKey(c.expression, run);
      } catch (err) {
        throw new ValidationError(
          `concurrency expression ${JSON.stringify(c.expression)} of '${name}' failed on this input: ${(err as Error).message}`,
        );
      }
    }
  }
}
