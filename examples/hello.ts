/**
 * Hello: the smallest useful task. The input is checked by a zod schema before the run is
 * created, so `greet.run({ name: '' })` rejects with a ValidationError and nothing is stored.
 *
 *   const { greet } = helloExample(skein);
 *   await skein.worker('hello-worker', { workflows: [greet] }).then((w) => w.start());
 *   await greet.run({ name: 'Ada' }); // { message: 'Hello, Ada!' }
 */
import { z } from 'zod';
import type { Skein } from 'skein';

export const GreetInput = z.object({
  name: z.string().min(1, 'name must not be empty'),
});

export function helloExample(skein: Skein) {
  const greet = skein.task({
    name: 'greet',
    description: 'Says hello',
    inputValidator: GreetInput,
    fn: (input, ctx) => {
      // Stored with the run: skein.runs.logs(runId) returns it.
      ctx.log(`greeting ${input.name} (attempt ${ctx.attemptNumber})`);
      return { message: `Hello, ${input.name}!` };
    },
  });
  return { greet };
}
