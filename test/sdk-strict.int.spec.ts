/**
 * Options Skein does not know are refused with a ValidationError naming them (and Skein's name
 * where it has one), never ignored; and the public objects carry no internal methods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Skein, UserEventCondition, ValidationError } from 'skein';
import { startEngine } from 'skein/runtime';
import { startSkeinEnv, testLogger, type SkeinEnv } from './support/skein-env.js';

let env: SkeinEnv;
beforeAll(async () => {
  env = await startSkeinEnv();
});
afterAll(async () => {
  await env.stop();
});

/** Options a user may write that the types refuse: the runtime must refuse them too. */
const loose = (o: object) => o as never;

async function refused(call: () => unknown, ...says: RegExp[]) {
  const err = await Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err, 'the call was accepted').toBeInstanceOf(ValidationError);
  for (const re of says) expect((err as Error).message).toMatch(re);
}

const fn = () => 'ok';

describe('declarations refuse options Skein does not know', () => {
  it('Hatchet-style triggers, slotCost and idempotency on tasks and workflows', async () => {
    const { skein } = await env.client();
    await refused(
      () => skein.task(loose({ name: 'a', on: { event: 'order:created' }, fn })),
      /task 'a': unknown option 'on'/,
      /onEvents \(for on\.event\)/,
      /onCrons \(for on\.cron\)/,
    );
    await refused(
      () => skein.task(loose({ name: 'a', slotCost: 2, fn })),
      /'slotCost'/,
      /no slot cost/,
    );
    await refused(
      () => skein.durableTask(loose({ name: 'a', idempotency: { expression: 'input.id' }, fn })),
      /'idempotency'/,
      /run option key/,
    );
    await refused(
      () => skein.workflow(loose({ name: 'wf', on: { cron: '0 * * * *' } })),
      /workflow 'wf': unknown option 'on'/,
      /onCrons/,
    );
    await refused(
      () => skein.workflow(loose({ name: 'wf', taskDefaults: { workerLabels: {} } })),
      /taskDefaults: unknown option 'workerLabels' \(did you mean 'desiredWorkerLabels'\?\)/,
    );
  });

  it('workflow tasks, durable tasks, onFailure and onSuccess', async () => {
    const { skein } = await env.client();
    const wf = skein.workflow({ name: 'wf' });
    await refused(
      () => wf.task(loose({ name: 't', timeout: '1s', fn })),
      /task 't': unknown option 'timeout' \(did you mean 'executionTimeout'\?\)/,
    );
    await refused(() => wf.durableTask(loose({ name: 'd', slotCost: 1, fn })), /'slotCost'/);
    await refused(
      () => wf.onFailure(loose({ retrys: 2, fn })),
      /onFailure: unknown option 'retrys' \(did you mean 'retries'\?\)/,
    );
    await refused(
      () => wf.onSuccess(loose({ name: 'after', fn })),
      /onSuccess: unknown option 'name'/,
    );
    // Nothing half-declared: the good declarations still work.
    wf.task({ name: 't', fn });
    wf.onFailure({ fn });
  });

  it('nested options: backoff, evictionPolicy, concurrency, rateLimits, labels, conditions', async () => {
    const { skein } = await env.client();
    await refused(
      () => skein.task(loose({ name: 'a', backoff: { factor: 2, maxSecond: 5 }, fn })),
      /backoff: unknown option 'maxSecond' \(did you mean 'maxSeconds'\?\)/,
    );
    await refused(
      () => skein.durableTask(loose({ name: 'a', evictionPolicy: { ttlMs: 5 }, fn })),
      /evictionPolicy: unknown option 'ttlMs'/,
    );
    await refused(
      () =>
        skein.task(
          loose({
            name: 'a',
            concurrency: { expression: 'input.k', maxRuns: 1, strategy: 'x' },
            fn,
          }),
        ),
      /concurrency: unknown option 'strategy'/,
    );
    await refused(
      () => skein.task(loose({ name: 'a', rateLimits: [{ key: 'openai', units: 1 }], fn })),
      /rateLimits\[0\]: unknown option 'key' \(did you mean 'staticKey'\?\)/,
    );
    await refused(
      () =>
        skein.task(
          loose({ name: 'a', desiredWorkerLabels: { gpu: { value: 'a100', requried: true } }, fn }),
        ),
      /desiredWorkerLabels\.gpu: unknown option 'requried' \(did you mean 'required'\?\)/,
    );
    const wf = skein.workflow({ name: 'wf' });
    const since = new Date();
    await refused(
      () =>
        wf.task({
          name: 'w',
          waitFor: loose({ eventKey: 'k', considerEventsSince: since }),
          fn,
        }),
      /event condition 'k': unknown option 'considerEventsSince' \(did you mean 'since'\?\)/,
    );
    await refused(
      () =>
        wf.task({
          name: 'w',
          waitFor: new UserEventCondition('k', '', 'k', loose({ considerEventsSince: since })),
          fn,
        }),
      /considerEventsSince/,
    );
    // The Skein names are taken.
    wf.task({ name: 'w', waitFor: { eventKey: 'k', since }, fn });
  });
});

describe('triggers refuse options Skein does not know, storing nothing', () => {
  it('run, runNoWait, runMany items and options, schedule, createCron, trigger by name', async () => {
    const { skein } = await env.client();
    const task = skein.task({ name: 'greet', fn });
    await (await skein.worker('w', { workflows: [task] })).start();
    await refused(
      () => task.run({}, loose({ childKey: 'x' })),
      /run options of 'greet': unknown option 'childKey' \(did you mean 'key'\?\)/,
    );
    await refused(
      () => task.runNoWait({}, loose({ returnExceptions: true })),
      /runMany's second argument/,
    );
    await refused(
      () => task.runMany([loose({ input: {}, option: {} })]),
      /item 0: unknown option 'option' \(did you mean 'options'\?\)/,
    );
    await refused(
      () => task.runMany([task.createBulkRunItem({}, loose({ idempotency: 'x' }))]),
      /'idempotency'/,
    );
    await refused(
      () => task.runMany([task.createBulkRunItem({})], loose({ returnException: true })),
      /did you mean 'returnExceptions'\?/,
    );
    await refused(
      () => task.schedule(new Date(), {}, loose({ priorty: 2 })),
      /did you mean 'priority'/,
    );
    await refused(
      () => task.createCron('nightly', '0 2 * * *', {}, loose({ tz: 'UTC' })),
      /unknown option 'tz'/,
      /timezone/,
    );
    await refused(
      () => skein.run('greet', {}, loose({ metadata: {} })),
      /unknown option 'metadata'/,
    );
    expect(await skein.runs.list()).toEqual([]);
    expect(await skein.schedules.list()).toEqual([]);
    expect(await skein.crons.list()).toEqual([]);
    expect(await task.run({}, { key: 'once' })).toBe('ok');
  });

  it('events.push and bulkPush, rateLimits.upsert and runs.list', async () => {
    const { skein } = await env.client();
    await refused(
      () => skein.events.push('k', {}, loose({ metadata: { a: '1' } })),
      /events\.push options: unknown option 'metadata'/,
      /additionalMetadata/,
    );
    await refused(
      () => skein.events.bulkPush('k', [loose({ payload: {}, additional_metadata: {} })]),
      /unknown option 'additional_metadata'/,
    );
    await refused(
      () => skein.rateLimits.upsert(loose({ key: 'k', limit: 1, duration: 'second', units: 1 })),
      /rateLimits\.upsert: unknown option 'units'/,
    );
    await refused(
      () => skein.runs.list(loose({ statuses: ['FAILED'] })),
      /did you mean 'status'\?/,
    );
  });
});

describe('workers, clients and engines refuse options Skein does not know', () => {
  it('worker options, Skein.init and startEngine', async () => {
    const { skein, namespace } = await env.client();
    const task = skein.task({ name: 'a', fn });
    await refused(
      () => skein.worker('w', loose({ workflows: [task], maxRuns: 5 })),
      /worker 'w': unknown option 'maxRuns' \(did you mean 'slots'\?\)/,
    );
    await refused(
      () => Skein.init(loose({ natsUrl: env.url, namespace, token: 'secret' })),
      /Skein.init: unknown option 'token'/,
      /known options: natsUrl, namespace, nats, logger/,
    );
    await refused(
      () => startEngine(loose({ natsUrl: env.url, namespace, logger: testLogger, replica: 3 })),
      /startEngine: unknown option 'replica' \(did you mean 'replicas'\?\)/,
    );
    await refused(
      () => startEngine(loose({ natsUrl: env.url, namespace, http: { prot: 8080 } })),
      /startEngine: http: unknown option 'prot'/,
    );
  });
});

describe('public objects and the task logger', () => {
  it('skein.crons, schedules, events, workers and runs carry only their documented methods', async () => {
    const { skein } = await env.client();
    const methods = (o: object) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(o))
        .filter((n) => n !== 'constructor')
        .sort();
    expect(methods(skein.crons)).toEqual(['delete', 'list']);
    expect(methods(skein.schedules)).toEqual(['delete', 'list']);
    expect(methods(skein.events)).toEqual(['bulkPush', 'list', 'push']);
    expect(methods(skein.workers)).toEqual(['list']);
    expect(methods(skein.rateLimits)).toEqual(['list', 'upsert']);
    expect(methods(skein.concurrency)).toEqual(['list']);
    expect(methods(skein.runs)).toEqual([
      'cancel',
      'counts',
      'get',
      'history',
      'list',
      'logs',
      'page',
      'replay',
      'subscribeToStream',
    ]);
    // A Hatchet-style call finds no internal method to crash in.
    expect((skein.crons as unknown as Record<string, unknown>).create).toBeUndefined();
  });

  it('ctx.logger keeps the extra fields in pino order and in (msg, extra) order', async () => {
    const { skein } = await env.client();
    const task = skein.task({
      name: 'logs',
      fn: (_input, ctx) => {
        ctx.logger.info('charged', { orderId: 'o-1' });
        ctx.logger.warn({ orderId: 'o-2' }, 'refunded');
        ctx.logger.info('hello %s', 'world');
        return 'ok';
      },
    });
    await (await skein.worker('w', { workflows: [task] })).start();
    const ref = await task.runNoWait({});
    await ref.result();
    await expect.poll(async () => (await skein.runs.logs(ref.runId)).length).toBe(3);
    const lines = await skein.runs.logs(ref.runId);
    const parsed = lines.map((l) => ({ level: l.level, message: l.message }));
    expect(parsed).toEqual([
      { level: 'info', message: JSON.stringify({ msg: 'charged', orderId: 'o-1' }) },
      { level: 'warn', message: JSON.stringify({ msg: 'refunded', orderId: 'o-2' }) },
      { level: 'info', message: 'hello world' },
    ]);
  });
});
