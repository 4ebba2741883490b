/**
 * A turn interrupted at any step (before its append, after the append but before its
 * effects, after the effects but before the message is acknowledged) ends, once the message
 * comes again, in the same state, with no effect stored twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnHooks } from '../runtime/actor-host.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

type Step = keyof TurnHooks;

/** Hooks that crash the turn at `step` the first time a message matching `pick` gets there. */
function crashOnce(step: Step, pick: (messageId: string) => boolean) {
  const crashed: string[] = [];
  const hooks: TurnHooks = {
    [step]: (_actorId: string, messageId: string) => {
      if (pick(messageId) && !crashed.includes(messageId)) {
        crashed.push(messageId);
        throw new Error(`simulated crash ${step}`);
      }
    },
  };
  return { hooks, crashed };
}

const steps: Step[] = ['beforeAppend', 'afterAppend', 'afterEffects'];

describe.each(steps)('a turn interrupted %s', (step) => {
  it('for a result: the run completes once and its task runs once', async () => {
    const { hooks, crashed } = crashOnce(step, (id) => id.startsWith('result:'));
    const { skein } = await env.client({ engine: { hooks } });
    let executions = 0;
    const task = skein.task({ name: 'once', fn: () => ++executions });
    await (await skein.worker('w', { workflows: [task] })).start();

    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe(1);
    expect(crashed).toHaveLength(1);
    const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
    expect(types).toEqual([
      'RunTriggered',
      'TaskQueued',
      'TaskStarted',
      'TaskSucceeded',
      'RunCompleted',
    ]);
    expect(executions).toBe(1);
  });

  it('for a failure with backoff: one retry timer, one second attempt', async () => {
    const { hooks, crashed } = crashOnce(
      step,
      (id) => id.startsWith('result:') && id.endsWith('.1'),
    );
    const { skein } = await env.client({ engine: { hooks } });
    let executions = 0;
    const task = skein.task({
      name: 'flaky',
      retries: 3,
      backoff: { factor: 2, maxSeconds: 0.2 },
      fn: (_: unknown, ctx) => {
        executions++;
        if (ctx.attemptNumber === 1) throw new Error('first attempt fails');
        return ctx.attemptNumber;
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();

    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe(2);
    expect(crashed).toHaveLength(1);
    const types = (await skein.runs.history(ref.runId)).map((e) => e.type);
    expect(types.filter((t) => t === 'RetryScheduled')).toHaveLength(1);
    expect(types.filter((t) => t === 'TaskQueued')).toHaveLength(2);
    expect(executions).toBe(2);
  });
});
