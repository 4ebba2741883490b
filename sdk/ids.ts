/** Ids derived from names, so the same intent always names the same thing. */
import { createHash } from 'node:crypto';
import { checkedId } from '../runtime/bounds.js';

/** A UUID-shaped id made of the given parts. */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** An id, key or name that reaches a subject or a KV key, checked before any NATS call. */
export const checkId = checkedId;
