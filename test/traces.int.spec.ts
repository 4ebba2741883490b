/**
 * OpenTelemetry traces with the SDK's in-memory exporter: task attempt spans parented on the
 * span a run was triggered in, and linked to the span an event that started it was pushed in.
 * (Without an SDK, every other test runs with the api's no-op.)
 */
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = trace.getTracer('test');

let env: SkeinEnv;
beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
  trace.disable();
  context.disable();
});

/** Runs `fn` in a new active span, ended after it; resolves with the span and fn's result. */
async function inSpan<T>(name: string, fn: () => Promise<T>): Promise<[Span, T]> {
  return tracer.startActiveSpan(name, async (span): Promise<[Span, T]> => {
    try {
      return [span, await fn()];
    } finally {
      span.end();
    }
  });
}

const spansNamed = (name: string, runId?: string) =>
  exporter
    .getFinishedSpans()
    .filter((s) => s.name === name && (!runId || s.attributes['skein.run_id'] === runId));

async function waitForSpans(name: string, runId: string, n: number): Promise<ReadableSpan[]> {
  return vi.waitFor(() => {
    const spans = spansNamed(name, runId);
    expect(spans).toHaveLength(n);
    return spans.sort(
      (a, b) => Number(a.attributes['skein.attempt']) - Number(b.attributes['skein.attempt']),
    );
  });
}

describe('traces', () => {
  it('each attempt is a span, child of the span the run was triggered in', async () => {
    const { skein } = await env.client();
    const child = skein.task({ name: 'child', fn: () => 'child ok' });
    let childRunId = '';
    const flaky = skein.task({
      name: 'flaky',
      retries: 1,
      fn: async (_: unknown, ctx) => {
        tracer.startSpan('inside').end();
        if (ctx.attemptNumber === 1) throw new TypeError('first try fails');
        childRunId = (await child.runNoWait({})).runId;
        return 'ok';
      },
    });
    const worker = await skein.worker('w', { workflows: [flaky, child] });
    await worker.start();
    const [checkout, ref] = await inSpan('checkout', () => flaky.runNoWait({}));
    expect(await ref.result()).toBe('ok');

    const parent = checkout.spanContext();
    const [first, second] = await waitForSpans('skein.task flaky', ref.runId, 2);
    for (const [span, attempt] of [
      [first, 1],
      [second, 2],
    ] as const) {
      expect(span.spanContext().traceId).toBe(parent.traceId);
      expect(span.parentSpanContext?.spanId).toBe(parent.spanId);
      expect(span.attributes).toEqual({
        'skein.run_id': ref.runId,
        'skein.task': 'flaky',
        'skein.workflow': 'flaky',
        'skein.attempt': attempt,
        'skein.worker_id': worker.id,
      });
    }
    expect(first.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'TypeError: first try fails',
    });
    expect(second.status.code).toBe(SpanStatusCode.UNSET);
    // Task code runs in the attempt's span: its own spans are children of it.
    const inside = exporter.getFinishedSpans().filter((s) => s.name === 'inside');
    expect(inside.map((s) => s.parentSpanContext?.spanId).sort()).toEqual(
      [first, second].map((s) => s.spanContext().spanId).sort(),
    );

    // So do the runs it triggers.
    const [childSpan] = await waitForSpans('skein.task child', childRunId, 1);
    expect(childSpan.parentSpanContext?.spanId).toBe(second.spanContext().spanId);

    const [triggered] = await skein.runs.history(ref.runId, { limit: 1 });
    expect(triggered.data.trace).toEqual({
      traceparent: `00-${parent.traceId}-${parent.spanId}-01`,
    });
  });

  it('a run triggered outside any span stores no trace context, and its spans are roots', async () => {
    const { skein } = await env.client();
    const plain = skein.task({ name: 'plain', fn: () => 1 });
    await (await skein.worker('w', { workflows: [plain] })).start();
    const ref = await plain.runNoWait({});
    await ref.result();
    const [span] = await waitForSpans('skein.task plain', ref.runId, 1);
    expect(span.parentSpanContext).toBeUndefined();
    const [triggered] = await skein.runs.history(ref.runId, { limit: 1 });
    expect(triggered.data).not.toHaveProperty('trace');
  });

  it('a run an event starts links to the span the event was pushed in', async () => {
    const { skein } = await env.client();
    const onPaid = skein.task({ name: 'on-paid', onEvents: ['order:paid'], fn: () => 'shipped' });
    await (await skein.worker('w', { workflows: [onPaid] })).start();
    const [push] = await inSpan('pay', () => skein.events.push('order:paid', { order: 7 }));
    const span = await vi.waitFor(
      () => {
        const [found] = spansNamed('skein.task on-paid');
        expect(found).toBeDefined();
        return found;
      },
      { timeout: 10_000 },
    );
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.links.map((l) => l.context.spanId)).toEqual([push.spanContext().spanId]);
    expect(span.links[0].context.traceId).toBe(push.spanContext().traceId);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });
});
