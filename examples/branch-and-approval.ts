/**
 * Conditions: a branch chosen by a parent's output (ParentCondition + skipIf), and an
 * approval step that waits for a person's `order:approved` event, or gives up after a while.
 *
 *   const { refunds } = branchAndApprovalExample(skein);
 *   const ref = await refunds.runNoWait({ orderId: 'o-1', amount: 250 });
 *   await skein.events.push('order:approved', { orderId: 'o-1', approved: true });
 *   await ref.result(); // { assess: ..., auto_refund: { skipped: true }, approval: ..., refund: ... }
 */
import { Or, ParentCondition, SleepCondition, UserEventCondition, type Skein } from 'skein';

export function branchAndApprovalExample(skein: Skein, approvalTimeout: string = '1h') {
  const refunds = skein.workflow<{ orderId: string; amount: number }>({ name: 'refunds' });
  const assess = refunds.task({
    name: 'assess',
    fn: (input) => ({ orderId: input.orderId, large: input.amount > 100 }),
  });
  // Small refunds go through at once; large ones wait for a person.
  refunds.task({
    name: 'auto_refund',
    parents: [assess],
    skipIf: new ParentCondition(assess, 'output.large'),
    fn: (input) => ({ refunded: input.amount, by: 'policy' }),
  });
  const approval = refunds.task({
    name: 'approval',
    parents: [assess],
    skipIf: new ParentCondition(assess, '!output.large'),
    // Whichever comes first: an approving `order:approved` event, or the timeout. (The CEL
    // expression sees only the event's payload; narrowing events to one run comes with scopes.)
    waitFor: Or(
      new UserEventCondition('order:approved', 'input.approved == true'),
      new SleepCondition(approvalTimeout),
    ),
    fn: (input, ctx) => {
      ctx.log(`approval step for ${input.orderId} passed`);
      return { approvedAt: new Date().toISOString() };
    },
  });
  refunds.task({
    name: 'refund',
    parents: [approval],
    fn: (input) => ({ refunded: input.amount, by: 'person' }),
  });
  return { refunds };
}
