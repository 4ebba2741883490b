/**
 * Retry: a task that fails its first two attempts and succeeds on the third.
 *
 * Delay before retry n is backoff.factor^n seconds, capped at backoff.maxSeconds:
 * 1.5^1 = 1.5 s and 1.5^2 = 2.25 s are both capped to 1 s here, so a run takes about 2 s.
 */
import type { Skein } from 'skein';

export function retryExample(skein: Skein) {
  const flaky = skein.task({
    name: 'flaky',
    description: 'Fails twice, then succeeds',
    retries: 3,
    backoff: { factor: 1.5, maxSeconds: 1 },
    fn: (input: { failures?: number }, ctx) => {
      // The attempt number comes from the engine, not from a module-level counter, so every
      // run fails its first attempts no matter which worker process picks each one up.
      const failures = input.failures ?? 2;
      ctx.log(`attempt ${ctx.attemptNumber} of ${ctx.maxAttempts}`);
      if (ctx.attemptNumber <= failures) {
        throw new Error(`simulated failure on attempt ${ctx.attemptNumber}`);
      }
      return { succeededOnAttempt: ctx.attemptNumber };
    },
  });
  return { flaky };
}
