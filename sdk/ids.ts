/** Ids derived from names, so the same intent always names the same thing. */
import { createHash } from 'node:crypto';
import { idProblem } from '../runtime/bounds.js';
import { ValidationError } from './errors.js';

/** A UUID-shaped id made of the given parts. */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * `value` when it may be used as `what` (an id, key or name that reaches a subject or a KV
 * key: at most 255 bytes, no control characters), else a ValidationError before any NATS call.
 */
export function checkId(what: string, value: unknown): string {
  const problem = idProblem(what, value);
  if (problem) throw new ValidationError(problem);
  return value as string;
}
