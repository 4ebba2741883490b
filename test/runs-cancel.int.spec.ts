/** `skein.runs.cancel` and `skein.runRef(id).cancel()` of a run that does not exist, and of one that has ended. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from 'skein';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

describe('skein.runs.cancel', () => {
  it('rejects an unknown run id with NotFoundError naming it, as runs.get does', async () => {
    const { skein } = await env.client();
    const cancel = skein.runs.cancel('no-such-run');
    await expect(cancel).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancel).rejects.toThrow(/no-such-run/);
    await expect(skein.runs.get('no-such-run')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects the cancel of a handle on an unknown run id, as runs.cancel does', async () => {
    const { skein } = await env.client();
    const cancel = skein.runRef('no-such-run').cancel();
    await expect(cancel).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancel).rejects.toThrow(/no-such-run/);
  });

  it('resolves without changing a run that has ended', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'quick', fn: () => 'done' });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    expect(await ref.result()).toBe('done');
    const before = await skein.runs.history(ref.runId);

    await expect(skein.runs.cancel(ref.runId)).resolves.toBeUndefined();

    expect((await skein.runs.get(ref.runId)).status).toBe('COMPLETED');
    expect(await skein.runs.history(ref.runId)).toEqual(before);
  });
});
