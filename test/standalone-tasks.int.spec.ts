import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('standalone task', () => {
  it('runs on a worker and returns its output', async () => {
    const { skein } = await env.client();
    const greet = skein.task({
      name: 'greet',
      fn: (input: { name: string }, ctx) => ({
        message: `hello ${input.name}`,
        worker: ctx.workerId,
      }),
    });
    const worker = await skein.worker('w1', { workflows: [greet] });
    await worker.start();
    const out = await greet.run({ name: 'Alice' });
    expect(out).toEqual({ message: 'hello Alice', worker: worker.id });
  });
});
