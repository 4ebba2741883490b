/**
 * The public types, as users write against them. The functions below never run: they must
 * compile. The test at the end compiles this file with the project's tsconfig, so a type that
 * breaks ordinary use fails `npm test` as well as `npm run typecheck`.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Context, DurableContext, RunRef, Skein, Worker, WorkflowTask } from './index.js';

export async function runManyTypes(skein: Skein, ctx: DurableContext) {
  const double = skein.task<{ n: number }, number>({ name: 'double', fn: (i) => i.n * 2 });
  const items = [1, 2].map((n) => double.createBulkRunItem({ n }));
  // Without returnExceptions every element is an output: ordinary use compiles.
  const outs: number[] = await double.runMany(items);
  expectTypeOf(outs).toEqualTypeOf<number[]>();
  expectTypeOf(double.runMany(items, {})).resolves.toEqualTypeOf<number[]>();
  expectTypeOf(double.runMany(items, { returnExceptions: false })).resolves.toEqualTypeOf<
    number[]
  >();
  expectTypeOf(double.runMany(items, { returnExceptions: true })).resolves.toEqualTypeOf<
    (number | Error)[]
  >();
  const flag: boolean = Math.random() > 0.5;
  expectTypeOf(double.runMany(items, { returnExceptions: flag })).resolves.toEqualTypeOf<
    (number | Error)[]
  >();
  const wf = skein.workflow<{ id: string }, { a: string }>({ name: 'wf' });
  expectTypeOf(wf.runMany([wf.createBulkRunItem({ id: 'x' })])).resolves.toEqualTypeOf<
    { a: string }[]
  >();
  return ctx;
}

export async function workflowOutputTypes(skein: Skein) {
  type Output = { step1: { value: number }; step2: { text: string } };
  const wf = skein.workflow<{ n: number }, Output>({ name: 'typed' });
  const step1 = wf.task({ name: 'step1', fn: (input) => ({ value: input.n }) });
  wf.durableTask({
    name: 'step2',
    parents: [step1],
    fn: (_input, ctx) => ({ text: String(ctx.parentOutput(step1).value) }),
  });
  // run() resolves to the output keyed by task, each task's output typed.
  expectTypeOf(wf.run({ n: 1 })).resolves.toEqualTypeOf<Output>();
  expectTypeOf((await wf.run({ n: 1 })).step1.value).toEqualTypeOf<number>();
  // @ts-expect-error a task the output type has no key for
  wf.task({ name: 'step3', fn: () => ({ value: 1 }) });
  // @ts-expect-error a task whose output does not match its key's type
  wf.task({ name: 'step1', fn: () => ({ value: 'one' }) });
  // Without an output type, any name and output compile, and the handle keeps its type.
  const loose = skein.workflow({ name: 'loose' });
  expectTypeOf(loose.task({ name: 'any', fn: () => 1 })).toEqualTypeOf<WorkflowTask<number>>();
  expectTypeOf(loose.run({})).resolves.toEqualTypeOf<Record<string, unknown>>();
}

export function loggerTypes(ctx: Context) {
  // pino's order, and the order other SDKs use: both compile.
  ctx.logger.info({ orderId: 'o-1' }, 'charged');
  ctx.logger.info('charged', { orderId: 'o-1' });
  ctx.logger.warn('retrying', { attempt: 2 });
  ctx.logger.error({ err: new Error('x') }, 'failed');
  ctx.logger.debug('plain');
  ctx.logger.info('hello %s', 'world');
  expectTypeOf(ctx.logger.child({ a: 1 }).info).toBeFunction();
}

export function publicObjectTypes(_skein: Skein, _ref: RunRef<number>, _worker: Worker) {
  // Only what docs/API.md lists: nothing internal is callable on the public objects.
  expectTypeOf<keyof typeof _skein.crons>().toEqualTypeOf<'list' | 'delete'>();
  expectTypeOf<keyof typeof _skein.schedules>().toEqualTypeOf<'list' | 'delete'>();
  expectTypeOf<keyof typeof _skein.events>().toEqualTypeOf<'push' | 'bulkPush' | 'list'>();
  expectTypeOf<keyof typeof _skein.workers>().toEqualTypeOf<'list'>();
  expectTypeOf<keyof typeof _skein.rateLimits>().toEqualTypeOf<'upsert' | 'list'>();
  expectTypeOf<keyof typeof _skein.concurrency>().toEqualTypeOf<'list'>();
  expectTypeOf<keyof typeof _skein.runs>().toEqualTypeOf<
    | 'get'
    | 'list'
    | 'page'
    | 'counts'
    | 'history'
    | 'logs'
    | 'cancel'
    | 'replay'
    | 'subscribeToStream'
  >();
  expectTypeOf<keyof typeof _ref>().toEqualTypeOf<'runId' | 'result' | 'output' | 'cancel'>();
  expectTypeOf<keyof typeof _worker>().toEqualTypeOf<
    'id' | 'name' | 'start' | 'stop' | 'historyReads'
  >();
}

/** Cancel and replay: one run by id resolves to nothing, every run of a filter to a count. */
export function runActionTypes(skein: Skein) {
  expectTypeOf(skein.runs.cancel('r')).resolves.toEqualTypeOf<void>();
  expectTypeOf(skein.runs.cancel('r', { by: 'cli' })).resolves.toEqualTypeOf<void>();
  expectTypeOf(skein.runs.replay('r', { fromTask: 't' })).resolves.toEqualTypeOf<void>();
  expectTypeOf(
    skein.runs.cancel({ filter: { status: 'RUNNING' }, by: 'cli' }),
  ).resolves.toEqualTypeOf<{ count: number }>();
  expectTypeOf(skein.runs.replay({ filter: {} })).resolves.toEqualTypeOf<{ count: number }>();
  expectTypeOf(skein.runs.get('r', { at: 3 })).resolves.toHaveProperty('tasks');
}

describe('public types', () => {
  it('this file compiles with the project settings', () => {
    const configPath = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
    const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
    const { options } = ts.parseJsonConfigFileContent(
      config.config,
      ts.sys,
      fileURLToPath(new URL('..', import.meta.url)),
    );
    const program = ts.createProgram([fileURLToPath(import.meta.url)], options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  }, 60_000);
});
