/** Keys computed from a run by CEL (concurrency groups, dynamic rate limits). Pure. */
import { evaluate } from '@marcbachmann/cel-js';
import type { RunState } from './state.js';

/** The key `expression` (CEL over `input` and `additionalMetadata`) names for this run, or why it names none. */
export function celKey(
  expression: string,
  run: Pick<RunState, 'input' | 'additionalMetadata'>,
): { key: string } | { error: string } {
  try {
    const value: unknown = evaluate(expression, {
      input: run.input as never,
      additionalMetadata: run.additionalMetadata as never,
    });
    if (typeof value === 'string' && value.length > 0) return { key: value };
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
      return { key: String(value) };
    return { error: `it gave ${JSON.stringify(value) ?? String(value)}, not a string or number` };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
