/**
 * examples/order-service.ts end to end, as the new user tried it: event-triggered,
 * validated, retried, a durable approval wait with a timeout, child runs, onFailure alerts and
 * one order per customer at a time.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunInfo, Skein } from 'skein';
import { orderServiceExample, type Order } from '../examples/order-service.js';
import { waitForHistory } from './support/history.js';
import { SOON } from './support/patience.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** The one `order` run the event `eventId` started, once it ended. */
async function orderRunOf(skein: Skein, eventId: string): Promise<RunInfo> {
  return vi.waitFor(async () => {
    const [run] = await skein.runs.list({
      name: 'order',
      additionalMetadata: { skein__event_id: eventId },
    });
    expect(run?.status).toMatch(/COMPLETED|FAILED|CANCELLED/);
    return run!;
  }, SOON);
}

async function startService(opts: Parameters<typeof orderServiceExample>[1] = {}) {
  const { skein } = await env.client();
  const service = orderServiceExample(skein, opts);
  const { order, ship, refund } = service;
  await (await skein.worker('orders', { workflows: [order, ship, refund] })).start();
  return { skein, ...service };
}

const anOrder = (orderId: string, customerId = 'c-1'): Order => ({
  orderId,
  customerId,
  cents: 1299,
});

describe('examples/order-service.ts', () => {
  it('charges through provider failures, waits for the approval, then ships in a child run', async () => {
    const attempts: number[] = [];
    const { skein } = await startService({
      chargeCard: async (order, attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error('provider unavailable');
        return { receiptId: `rcpt-${order.orderId}` };
      },
      approvalTimeout: '2m',
    });
    const { eventId } = await skein.events.push('order:created', anOrder('o-1'), {
      additionalMetadata: { tenant: 'acme' },
    });
    const waiting = await vi.waitFor(async () => {
      const [run] = await skein.runs.list({ name: 'order' });
      expect(run).toBeDefined();
      return run!;
    }, SOON);
    await waitForHistory(skein, waiting.id, 'DurableWaitStarted');
    await skein.events.push('order:approved', { orderId: 'o-other', by: 'mallory' });
    await skein.events.push('order:approved', { orderId: 'o-1', by: 'ann' });

    const run = await orderRunOf(skein, eventId);
    expect(run.status).toBe('COMPLETED');
    expect(attempts).toEqual([1, 2, 3]);
    expect(run.output).toMatchObject({
      charge: { receiptId: 'rcpt-o-1' },
      fulfil: { decision: 'shipped', approvedBy: 'ann', shipped: 'o-1' },
    });
    // The child run is found with its parent's metadata.
    const children = await skein.runs.list({ additionalMetadata: { tenant: 'acme' } });
    expect(children.map((r) => r.name).sort()).toEqual(['order', 'ship-order']);
  });

  it('refunds an order nobody approved within its timeout', async () => {
    const { skein } = await startService({ approvalTimeout: '1s' });
    const { eventId } = await skein.events.push('order:created', anOrder('o-2'));
    const run = await orderRunOf(skein, eventId);
    expect(run.status).toBe('COMPLETED');
    expect(run.output).toMatchObject({ fulfil: { decision: 'refunded', refunded: 1299 } });
  });

  it('a bad order fails once with the validator message, and onFailure alerts', async () => {
    const alerts: { orderId: unknown; errors: Record<string, string> }[] = [];
    const { skein } = await startService({
      alert: (orderId, errors) => alerts.push({ orderId, errors }),
    });
    const { eventId } = await skein.events.push('order:created', {
      orderId: 'o-3',
      cents: 5,
    });
    const run = await orderRunOf(skein, eventId);
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/ValidationError: .*customerId/);
    await vi.waitFor(() => expect(alerts).toHaveLength(1), SOON);
    expect(alerts[0]!.orderId).toBe('o-3');
    expect(Object.values(alerts[0]!.errors).join()).toMatch(/ValidationError: .*customerId/);
  });

  it("one customer's orders run one at a time; another customer's run beside them", async () => {
    const { skein, order } = await startService({ approvalTimeout: '1s' });
    const refs = await order.runManyNoWait([
      order.createBulkRunItem(anOrder('a-1', 'alice')),
      order.createBulkRunItem(anOrder('a-2', 'alice')),
      order.createBulkRunItem(anOrder('b-1', 'bob')),
    ]);
    await Promise.all(refs.map((r) => r.result()));
    const runs = await Promise.all(refs.map((r) => skein.runs.get(r.runId)));
    const [a1, a2, b1] = runs.map((r) => ({
      start: r.startedAt!.getTime(),
      end: r.finishedAt!.getTime(),
    }));
    // Alice's second order starts after her first ended; Bob's overlaps Alice's first.
    expect(Math.max(a1!.start, a2!.start)).toBeGreaterThanOrEqual(Math.min(a1!.end, a2!.end));
    expect(b1!.start).toBeLessThan(Math.max(a1!.end, a2!.end));
  });
});
