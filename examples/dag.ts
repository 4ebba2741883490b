/**
 * Workflows: the two-step DAG (the second task reads the first's output) and a fan-out /
 * fan-in pipeline (one task feeds several in parallel; a join waits for all of them).
 *
 *   const { twoStep, pipeline } = dagExamples(skein);
 *   await twoStep.run({});                      // { first: { value: 10 }, second: { doubled: 20 } }
 *   await pipeline.run({ words: ['a', 'bb'] }); // { split: ..., length_0: ..., ..., total: { letters: 3 } }
 */
import type { Skein } from 'skein';

export function dagExamples(skein: Skein) {
  const twoStep = skein.workflow({ name: 'two-step' });
  const first = twoStep.task({ name: 'first', fn: () => ({ value: 10 }) });
  twoStep.task({
    name: 'second',
    parents: [first],
    fn: (_input, ctx) => ({ doubled: ctx.parentOutput(first).value * 2 }),
  });

  const WIDTH = 4;
  const pipeline = skein.workflow<{ words: string[] }>({
    name: 'word-lengths',
    taskDefaults: { retries: 2, executionTimeout: '10s' },
  });
  const split = pipeline.task({
    name: 'split',
    // Deal the words into WIDTH buckets, one per branch.
    fn: (input) =>
      Array.from({ length: WIDTH }, (_, i) => input.words.filter((_w, j) => j % WIDTH === i)),
  });
  const branches = Array.from({ length: WIDTH }, (_, i) =>
    pipeline.task({
      name: `length_${i}`,
      parents: [split],
      fn: (_input, ctx) => ctx.parentOutput(split)[i].reduce((sum, w) => sum + w.length, 0),
    }),
  );
  pipeline.task({
    name: 'total',
    parents: branches,
    fn: (_input, ctx) => ({ letters: branches.reduce((sum, b) => sum + ctx.parentOutput(b), 0) }),
  });
  pipeline.onFailure({
    fn: (_input, ctx) => ctx.log(`pipeline failed: ${JSON.stringify(ctx.taskRunErrors)}`),
  });

  return { twoStep, pipeline };
}
