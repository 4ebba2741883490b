/** The no-op path costs nothing, and carried trace contexts are checked before use. */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { task } from '../actors/scheduler/fixtures.js';
import { activeTraceContext, startTaskSpan } from './tracing.js';

afterEach(() => {
  trace.disable();
  context.disable();
});

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

function register() {
  const exporter = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  return exporter;
}

describe('tracing', () => {
  it('without a registered tracer provider, an attempt has no span and a trigger no context', () => {
    expect(startTaskSpan(task('k'), 'w')).toBeUndefined();
    expect(activeTraceContext()).toBeUndefined();
  });

  it('an attempt span is parented on a valid trace context and ignores a malformed one', () => {
    const exporter = register();
    const parented = startTaskSpan(
      task('k1', { trace: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'a=1' } }),
      'w',
    );
    parented!.run(() => {
      expect(activeTraceContext()?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-`));
      expect(activeTraceContext()?.tracestate).toBe('a=1');
    });
    parented!.end({});
    startTaskSpan(
      task('k2', { trace: { traceparent: 'garbage' }, traceLink: 7 as never }),
      'w',
    )!.end({});
    const [withParent, orphan] = exporter.getFinishedSpans();
    expect(withParent.parentSpanContext).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
    expect(orphan.parentSpanContext).toBeUndefined();
    expect(orphan.links).toEqual([]);
  });
});
