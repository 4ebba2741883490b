/**
 * A value too large to travel inline, stored as an object (runtime/payloads.ts) and referred to
 * by this in journal entries, dispatches, events and log lines. Encoded as a msgpack extension
 * of its own (runtime/codec.ts), so no JSON value a user passes can be mistaken for one.
 */
export class PayloadRef {
  constructor(
    /** Which object store holds it: the run's payloads, or an event's (they expire with it). */
    readonly store: 'run' | 'event',
    readonly name: string,
    /** Its encoded size. */
    readonly bytes: number,
  ) {}
}

/** Whether `value` holds a reference anywhere (most values are small and hold none). */
export function holdsRef(value: unknown): boolean {
  if (value instanceof PayloadRef) return true;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsRef);
  for (const k in value) if (holdsRef((value as Record<string, unknown>)[k])) return true;
  return false;
}

/** `value` with every reference replaced by what `read` gives for it. */
export async function replaceRefs(
  value: unknown,
  read: (ref: PayloadRef) => Promise<unknown>,
): Promise<unknown> {
  if (value instanceof PayloadRef) return read(value);
  if (!holdsRef(value)) return value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => replaceRefs(v, read)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    out[k] = await replaceRefs(v, read);
  return out;
}
