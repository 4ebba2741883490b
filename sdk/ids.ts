/** Ids and keys checked or derived before any NATS call. */
import { checkedId } from '../runtime/bounds.js';

export { derivedId } from '../runtime/ids.js';

/** An id, key or name that reaches a subject or a KV key, checked before any NATS call. */
export const checkId = checkedId;
