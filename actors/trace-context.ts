/**
 * A W3C trace context (https://www.w3.org/TR/trace-context/) as runs and events carry it: the
 * span a run was triggered in, or an event pushed in. Opaque to the actors; the SDK reads it.
 */
export interface TraceContext {
  /** `00-<trace id>-<span id>-<flags>`. */
  traceparent: string;
  tracestate?: string;
}
