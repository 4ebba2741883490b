/**
 * Events: an order pipeline that starts whenever an `order:created` event is pushed. The
 * event's payload is the run's input (checked by the inputValidator: a bad order fails its
 * run, not the push), and the run's additionalMetadata names the event that started it.
 * Another workflow listens to every `order:*` event, for an audit trail.
 *
 *   const { orderPipeline, orderAudit } = orderPipelineExample(skein);
 *   await (await skein.worker('orders', { workflows: [orderPipeline, orderAudit] })).start();
 *   const { eventId } = await skein.events.push('order:created', { orderId: 'o-1', items: [...] });
 *   await skein.runs.list({ additionalMetadata: { skein__event_id: eventId } }); // both runs
 *
 * From a shell: npx skein events push order:created '{"orderId":"o-1","items":[{"sku":"tea","price":4,"qty":2}]}'
 */
import { z } from 'zod';
import type { Skein } from 'skein';

const order = z.object({
  orderId: z.string().min(1),
  items: z
    .array(z.object({ sku: z.string(), price: z.number().nonnegative(), qty: z.number().int() }))
    .min(1),
});

export function orderPipelineExample(skein: Skein) {
  const orderPipeline = skein.workflow<z.infer<typeof order>>({
    name: 'order-pipeline',
    onEvents: ['order:created'],
    inputValidator: order,
  });
  const price = orderPipeline.task({
    name: 'price',
    fn: (input) => ({ total: input.items.reduce((sum, i) => sum + i.price * i.qty, 0) }),
  });
  const reserve = orderPipeline.task({
    name: 'reserve',
    fn: (input) => ({ reserved: input.items.map((i) => i.sku) }),
  });
  orderPipeline.task({
    name: 'confirm',
    parents: [price, reserve],
    fn: (input, ctx) => ({
      orderId: input.orderId,
      total: ctx.parentOutput(price).total,
      items: ctx.parentOutput(reserve).reserved.length,
      event: ctx.additionalMetadata.skein__event_id,
    }),
  });

  const orderAudit = skein.task({
    name: 'order-audit',
    onEvents: ['order:*'],
    fn: (input: unknown, ctx) => ({ key: ctx.additionalMetadata.skein__event_key, input }),
  });
  return { orderPipeline, orderAudit };
}
