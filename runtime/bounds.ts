/**
 * Bounds on every id, key and name that becomes part of a subject or a KV key (run ids, event
 * keys, cron and schedule ids, worker and task names, idempotency keys...). Subjects have a
 * size limit on the server, which closes the connection of a client that sends a longer one;
 * so a value out of bounds is refused before any NATS call.
 */
import { z } from 'zod';
import { ValidationError } from './errors.js';

const MAX_ID_BYTES = 255;

/** Why `value` cannot be used as `what`, or undefined when it can. */
export function idProblem(what: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0)
    return `${what} must be a non-empty string, got ${preview(value)}`;
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_ID_BYTES)
    return `${what} is ${bytes} bytes long; at most ${MAX_ID_BYTES} bytes (UTF-8) are allowed`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value))
    return `${what} may not contain control characters, got ${preview(value)}`;
  return undefined;
}

/**
 * `value` when it may be used as `what` (an id, key or name that reaches a subject or a KV
 * key), else a ValidationError before any NATS call.
 */
export function checkedId(what: string, value: unknown): string {
  const problem = idProblem(what, value);
  if (problem) throw new ValidationError(problem);
  return value as string;
}

/** The same rule as a schema, for requests and messages read off the bus. */
export const idSchema = (what: string) =>
  z.string().superRefine((value, ctx) => {
    const problem = idProblem(what, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
