/**
 * Durable tasks: code that sleeps, waits for people and calls the outside world, and survives
 * every crash by replaying its recorded calls.
 *
 *   const { approval, expense, charge } = durableExamples(skein);
 *   const ref = await approval.runNoWait({});                   // sleeps, then waits
 *   await skein.events.push('user:approved', { user_id: 'ann' });
 *   await ref.result();                                         // { approved_by: 'ann' }
 */
import { Or, SleepCondition, UserEventCondition, type Skein } from 'skein';

/** Stands in for a payment provider: called at most once per order, whatever crashes. */
export type ChargeCard = (orderId: string, cents: number) => Promise<{ receiptId: string }>;

export interface DurableExampleOptions {
  /** How long the seed task sleeps before it waits for approval. */
  sleep?: string;
  /** How long an expense waits for a decision before it is escalated. */
  decisionTimeout?: string;
  chargeCard?: ChargeCard;
  /** How long a charge waits for the provider to settle before it is confirmed. */
  settle?: string;
}

const fakeProvider: ChargeCard = async (orderId) => ({ receiptId: `rcpt-${orderId}` });

export function durableExamples(skein: Skein, opts: DurableExampleOptions = {}) {
  // The seed's durable task: sleep (surviving restarts), then wait for an approval event.
  const approval = skein.durableTask({
    name: 'my-durable-task',
    fn: async (_input, ctx) => {
      await ctx.sleepFor(opts.sleep ?? '10m');
      const payload = await ctx.waitForEvent<{ user_id: string }>('user:approved');
      return { approved_by: payload.user_id };
    },
  });

  // A person decides, or the request is escalated when nobody did in time.
  const expense = skein.durableTask({
    name: 'expense-approval',
    fn: async (input: { expenseId: string; amount: number }, ctx) => {
      const requestedAt = await ctx.now();
      ctx.log(`expense ${input.expenseId} (${input.amount}) waits for a decision`);
      const outcome = await ctx.waitFor(
        Or(
          new SleepCondition(opts.decisionTimeout ?? '3d', 'timeout'),
          new UserEventCondition(
            'expense:decided',
            `input.expenseId == '${input.expenseId}'`,
            'decision',
          ),
        ),
      );
      const decision = outcome.decision as { approved: boolean; by: string } | undefined;
      if (!decision) return { status: 'escalated', requestedAt: requestedAt.toISOString() };
      return { status: decision.approved ? 'approved' : 'rejected', by: decision.by };
    },
  });

  // An external call made once: on any replay, memo returns the recorded receipt.
  const charge = skein.durableTask({
    name: 'charge-order',
    retries: 2,
    fn: async (input: { orderId: string; cents: number }, ctx) => {
      const receipt = await ctx.memo(opts.chargeCard ?? fakeProvider, input.orderId, input.cents);
      // Whatever happens from here on (a crash, a retry), the card is not charged again.
      await ctx.sleepFor(opts.settle ?? '1s');
      const id = await ctx.uuid();
      return { ...receipt, confirmationId: id };
    },
  });

  return { approval, expense, charge };
}
