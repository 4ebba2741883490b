/** What task code sees in its Context, and the log lines it stores, against a real engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('context identity', () => {
  it('ctx carries the run’s input, ids, names, worker, priority and metadata', async () => {
    const { skein } = await env.client();
    const whoami = skein.task({
      name: 'whoami',
      fn: (input: { n: number }, ctx) => ({
        input: ctx.input,
        same: ctx.input === input,
        runId: ctx.runId,
        taskRunId: ctx.taskRunId,
        taskName: ctx.taskName,
        workflowName: ctx.workflowName,
        workerId: ctx.workerId,
        priority: ctx.priority,
        additionalMetadata: ctx.additionalMetadata,
        aborted: ctx.signal.aborted,
        taskRunErrors: ctx.taskRunErrors,
      }),
    });
    const worker = await skein.worker('w', { workflows: [whoami] });
    await worker.start();
    const ref = await whoami.runNoWait({ n: 3 }, { priority: 2, additionalMetadata: { a: 'b' } });
    const seen = await ref.result();
    expect(seen).toMatchObject({
      input: { n: 3 },
      same: true,
      runId: ref.runId,
      taskName: 'whoami',
      workflowName: 'whoami',
      workerId: worker.id,
      priority: 2,
      additionalMetadata: { a: 'b' },
      aborted: false,
      taskRunErrors: {},
    });
    expect(typeof seen.taskRunId).toBe('string');
    expect(seen.taskRunId).not.toBe('');
    expect((await skein.runs.get(ref.runId)).tasks[0].workerId).toBe(worker.id);
  });

  it('inputs and outputs travel as JSON: dates become strings, undefined fields vanish', async () => {
    const { skein } = await env.client();
    const echo = skein.task({
      name: 'echo',
      fn: (input: unknown) => ({ got: input, at: new Date(0), gone: undefined }),
    });
    await (await skein.worker('w', { workflows: [echo] })).start();
    const out = await echo.run({ when: new Date(1000), list: [1, 'two', null], maybe: undefined });
    expect(out).toEqual({
      got: { when: new Date(1000).toISOString(), list: [1, 'two', null] },
      at: new Date(0).toISOString(),
    });
    expect(await echo.run(undefined)).toEqual({ got: null, at: new Date(0).toISOString() });
  });
});

describe('logs', () => {
  it('ctx.log and ctx.logger lines come back from runs.logs in order, with task name and level', async () => {
    const { skein } = await env.client();
    const chatty = skein.task({
      name: 'chatty',
      fn: (_: unknown, ctx) => {
        ctx.log('first');
        ctx.logger.info('second');
        ctx.logger.warn('third');
        ctx.log({ step: 4 });
        ctx.logger.error('fifth');
        ctx.logger.debug('not at info level');
        for (let i = 0; i < 20; i++) ctx.log(`line ${i}`);
        return 'done';
      },
    });
    await (await skein.worker('w', { workflows: [chatty] })).start();
    const ref = await chatty.runNoWait({});
    await ref.result();

    const logs = await skein.runs.logs(ref.runId);
    expect(
      logs.slice(0, 5).map(({ taskName, level, message }) => ({ taskName, level, message })),
    ).toEqual([
      { taskName: 'chatty', level: 'info', message: 'first' },
      { taskName: 'chatty', level: 'info', message: 'second' },
      { taskName: 'chatty', level: 'warn', message: 'third' },
      { taskName: 'chatty', level: 'info', message: JSON.stringify({ step: 4 }) },
      { taskName: 'chatty', level: 'error', message: 'fifth' },
    ]);
    expect(logs.slice(5).map((l) => l.message)).toEqual(
      Array.from({ length: 20 }, (_, i) => `line ${i}`),
    );
    for (const line of logs) expect(line.at).toBeInstanceOf(Date);
    const times = logs.map((l) => l.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('logs of a failed run and of every attempt are kept; another run’s logs stay apart', async () => {
    const { skein } = await env.client();
    const shaky = skein.task({
      name: 'shaky',
      retries: 1,
      fn: (tag: string, ctx) => {
        ctx.log(`${tag} attempt ${ctx.attemptNumber}`);
        throw new Error('nope');
      },
    });
    await (await skein.worker('w', { workflows: [shaky] })).start();
    const a = await shaky.runNoWait('a');
    const b = await shaky.runNoWait('b');
    await Promise.allSettled([a.result(), b.result()]);
    expect((await skein.runs.logs(a.runId)).map((l) => l.message)).toEqual([
      'a attempt 1',
      'a attempt 2',
    ]);
    expect((await skein.runs.logs(b.runId)).map((l) => l.message)).toEqual([
      'b attempt 1',
      'b attempt 2',
    ]);
  });

  it('a run that logged nothing has no lines', async () => {
    const { skein } = await env.client();
    const quiet = skein.task({ name: 'quiet', fn: () => 1 });
    await (await skein.worker('w', { workflows: [quiet] })).start();
    const ref = await quiet.runNoWait({});
    await ref.result();
    expect(await skein.runs.logs(ref.runId)).toEqual([]);
  });
});
