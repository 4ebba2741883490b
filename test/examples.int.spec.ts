/** The examples do what their comments say. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dagExamples } from '../examples/dag.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('examples/dag.ts', () => {
  it('runs the two-step DAG and the fan-out / fan-in pipeline', async () => {
    const { skein } = await env.client();
    const { twoStep, pipeline } = dagExamples(skein);
    await (await skein.worker('w', { workflows: [twoStep, pipeline] })).start();
    expect(await twoStep.run({})).toEqual({ first: { value: 10 }, second: { doubled: 20 } });
    const out = await pipeline.run({ words: ['durable', 'execution', 'on', 'nats'] });
    expect(out.total).toEqual({ letters: 7 + 9 + 2 + 4 });
  });
});
