/** A W3C trace context as it crosses the wire, in triggers, stored events and dispatches. */
import { z } from 'zod';
import type { TraceContext } from '../actors/trace-context.js';

export type { TraceContext };

/** Version 00 as the W3C spec writes it; an all-zero trace or span id is invalid. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
/** The spec allows 32 list members of up to 256 characters each. */
const TRACESTATE_MAX = 8192;

export const traceContextSchema = z.object({
  traceparent: z.string().regex(TRACEPARENT, 'not a W3C traceparent (00-<trace>-<span>-<flags>)'),
  tracestate: z.string().max(TRACESTATE_MAX).optional(),
}) satisfies z.ZodType<TraceContext>;

/** `value` when it is a trace context, else undefined: one read off the bus is only a hint. */
export function traceContextOr(value: unknown): TraceContext | undefined {
  if (value === undefined) return undefined;
  const parsed = traceContextSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
