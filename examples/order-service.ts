/**
 * An order service with a person in the loop, built from the parts a new user reaches for:
 * an `order:created` event starts the `order` workflow (one order at a time per customer);
 * it validates the order, charges the card (retried on failure), waits durably for an
 * `order:approved` event for that order or a timeout, then ships or refunds in a child run.
 * A failed order reaches `onFailure`, where the alerting goes.
 *
 *   const { order, ship, refund } = orderServiceExample(skein, { alert: console.error });
 *   await (await skein.worker('orders', { workflows: [order, ship, refund] })).start();
 *   await skein.events.push('order:created', { orderId: 'o-1', customerId: 'c-7', cents: 1299 });
 *   await skein.events.push('order:approved', { orderId: 'o-1', by: 'ann' });
 */
import { z } from 'zod';
import { NonRetryableError, Or, SleepCondition, UserEventCondition, type Skein } from 'skein';

const orderInput = z.object({
  orderId: z.string().min(1),
  customerId: z.string().min(1),
  cents: z.number().int().positive(),
});
export type Order = z.infer<typeof orderInput>;

export interface OrderServiceOptions {
  /** Charges the card; may throw (a provider outage) and is then retried. */
  chargeCard?: (order: Order, attempt: number) => Promise<{ receiptId: string }>;
  /** How long an order waits for its approval before it is refunded. */
  approvalTimeout?: string;
  /** Told of every failed order, with each failed task's error. */
  alert?: (orderId: unknown, errors: Record<string, string>) => void;
}

export function orderServiceExample(skein: Skein, opts: OrderServiceOptions = {}) {
  const chargeCard =
    opts.chargeCard ?? (async (order: Order) => ({ receiptId: `rcpt-${order.orderId}` }));

  const ship = skein.task({
    name: 'ship-order',
    fn: (input: { orderId: string }) => ({ shipped: input.orderId }),
  });
  const refund = skein.task({
    name: 'refund-order',
    fn: (input: { orderId: string; cents: number }) => ({ refunded: input.cents }),
  });

  const order = skein.workflow<Order>({
    name: 'order',
    onEvents: ['order:created'],
    inputValidator: orderInput,
    // One order per customer at a time: a customer's orders queue behind each other.
    concurrency: { expression: 'input.customerId', maxRuns: 1 },
  });
  const validate = order.task({
    name: 'validate',
    fn: (input) => {
      if (input.cents > 1_000_000) throw new NonRetryableError('order over the 10,000.00 limit');
      return { valid: true };
    },
  });
  const charge = order.task({
    name: 'charge',
    parents: [validate],
    retries: 3,
    backoff: { factor: 1.5, maxSeconds: 1 },
    fn: (input, ctx) => chargeCard(input, ctx.attemptNumber),
  });
  order.durableTask({
    name: 'fulfil',
    parents: [charge],
    fn: async (input, ctx) => {
      const outcome = await ctx.waitFor(
        Or(
          new SleepCondition(opts.approvalTimeout ?? '10s', 'timeout'),
          new UserEventCondition(
            'order:approved',
            `input.orderId == '${input.orderId}'`,
            'approval',
          ),
        ),
      );
      const approval = outcome.approval as { by: string } | undefined;
      if (!approval) {
        const refunded = await refund.run({ orderId: input.orderId, cents: input.cents });
        return { decision: 'refunded', ...refunded };
      }
      const shipped = await ship.run({ orderId: input.orderId });
      return { decision: 'shipped', approvedBy: approval.by, ...shipped };
    },
  });
  order.onFailure({
    fn: (input, ctx) => {
      opts.alert?.((input as Partial<Order>).orderId, ctx.taskRunErrors);
      return { alerted: true };
    },
  });

  return { order, ship, refund };
}
