/**
 * OpenTelemetry traces through `@opentelemetry/api`, which does nothing until the user
 * registers an SDK: a trigger or event push made in a span carries its W3C trace context;
 * each task attempt is a span, child of its run's trigger and linked to the event that
 * started the run. With no tracer provider registered, an attempt costs one check.
 */
import {
  context,
  createTraceState,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context as OtelContext,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { traceContextOr, type TraceContext } from '../runtime/protocol-trace.js';

const TRACER_NAME = 'skein';
/** What the api answers with while no SDK has registered a provider. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER);
}

/** The W3C trace context of the span active here, if any: what a trigger or event carries. */
export function activeTraceContext(): TraceContext | undefined {
  const span = trace.getSpanContext(context.active());
  if (!span || !trace.isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const tracestate = span.traceState?.serialize();
  return {
    traceparent: `00-${span.traceId}-${span.spanId}-${flags}`,
    ...(tracestate && { tracestate }),
  };
}

/** The remote span a trace context names, or undefined for one that is not valid. */
function spanContextOf(carried: unknown): SpanContext | undefined {
  const valid = traceContextOr(carried);
  if (!valid) return undefined;
  const [, traceId, spanId, flags] = valid.traceparent.split('-');
  return {
    traceId,
    spanId,
    traceFlags: parseInt(flags, 16),
    isRemote: true,
    ...(valid.tracestate && { traceState: createTraceState(valid.tracestate) }),
  };
}

/** One task attempt's span: task code runs inside it, so its spans and triggers are children. */
export interface TaskSpan {
  run<T>(fn: () => T): T;
  /** Ends it: `error` sets an error status; `handedBack`, an attempt that left no result. */
  end(outcome: { error?: { name: string; message: string }; handedBack?: boolean }): void;
}

/** The attempt's span, or undefined while no tracer provider is registered. */
export function startTaskSpan(task: QueuedTask, workerId: string): TaskSpan | undefined {
  if (!tracingOn()) return undefined;
  const parentSpan = spanContextOf(task.trace);
  const parent: OtelContext = parentSpan
    ? trace.setSpanContext(ROOT_CONTEXT, parentSpan)
    : ROOT_CONTEXT;
  const linked = spanContextOf(task.traceLink);
  const links: Link[] = linked ? [{ context: linked }] : [];
  const span: Span = trace.getTracer(TRACER_NAME).startSpan(
    `skein.task ${task.taskName}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'skein.run_id': task.runId,
        'skein.task': task.taskName,
        'skein.workflow': task.workflowName,
        'skein.attempt': task.attempt,
        'skein.worker_id': workerId,
      },
    },
    parent,
  );
  const inSpan = trace.setSpan(parent, span);
  return {
    run: (fn) => context.with(inSpan, fn),
    end: ({ error, handedBack }) => {
      if (handedBack) span.setAttribute('skein.handed_back', true);
      else if (error) {
        span.recordException({ name: error.name, message: error.message });
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
      }
      span.end();
    },
  };
}
