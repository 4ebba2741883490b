/** `skein.workflow({...})`: a DAG of tasks run as one run, its result keyed by task name. */
import type { RunSpec, TaskSpec } from '../actors/run/spec.js';
import type { Context, TaskLike } from './context.js';
import type { DurableContext } from './durable-context.js';
import type { EvictionPolicy } from './suspended-tasks.js';
import type { Declaration } from './worker.js';
import { ValidationError } from './errors.js';
import { stickyOf } from './placement.js';
import { conditionExpr, type Conditions } from './conditions.js';
import { concurrencyOf } from './concurrency.js';
import {
  checkName,
  checkTriggers,
  durableOf,
  Runnable,
  RUNNABLE_OPTIONS,
  retentionOf,
  TASK_SETTINGS,
  taskSpecOf,
  type RunnableOptions,
  type TaskFunction,
  type TaskSettings,
} from './task.js';
import { checkPriority, type Triggerer } from './trigger.js';
import { checkOptions, optionNames } from '../runtime/options.js';

/** Options every task of a workflow takes, and `taskDefaults` gives them all. */
export type WorkflowTaskDefaults = TaskSettings;

export interface WorkflowOptions<I> extends RunnableOptions<I> {
  taskDefaults?: WorkflowTaskDefaults;
}

export interface WorkflowTaskOptions<I, O> extends WorkflowTaskDefaults {
  name: string;
  parents?: TaskLike[];
  /** Hold the task until these hold. */
  waitFor?: Conditions;
  /** Skip the task (its output is `{ skipped: true }`) if these hold. */
  skipIf?: Conditions;
  /** Cancel the run if these hold. */
  cancelIf?: Conditions;
  fn: (input: I, ctx: Context<I>) => O | Promise<O>;
}

export interface WorkflowDurableTaskOptions<I, O> extends Omit<WorkflowTaskOptions<I, O>, 'fn'> {
  evictionPolicy?: EvictionPolicy;
  fn: (input: I, ctx: DurableContext<I>) => O | Promise<O>;
}

export type WorkflowHookOptions<I> = Omit<
  WorkflowTaskOptions<I, unknown>,
  'name' | 'parents' | 'waitFor' | 'skipIf' | 'cancelIf'
>;

/** A task declared in a workflow: pass it as a parent, or to `ctx.parentOutput`. */
export interface WorkflowTask<O> extends TaskLike<O> {
  readonly name: string;
}

const WORKFLOW_TASK = {
  ...TASK_SETTINGS,
  name: true,
  parents: true,
  waitFor: true,
  skipIf: true,
  cancelIf: true,
  fn: true,
} as const satisfies Record<keyof WorkflowTaskOptions<unknown, unknown>, true>;
const OPTIONS = {
  workflow: optionNames<WorkflowOptions<unknown>>({ ...RUNNABLE_OPTIONS, taskDefaults: true }),
  taskDefaults: optionNames<WorkflowTaskDefaults>(TASK_SETTINGS),
  task: optionNames<WorkflowTaskOptions<unknown, unknown>>(WORKFLOW_TASK),
  durableTask: optionNames<WorkflowDurableTaskOptions<unknown, unknown>>({
    ...WORKFLOW_TASK,
    evictionPolicy: true,
  }),
  hook: optionNames<WorkflowHookOptions<unknown>>({ ...TASK_SETTINGS, fn: true }),
};

const ON_FAILURE = 'on_failure';
const ON_SUCCESS = 'on_success';

/** The workflow of each handle `wf.durableTask` returned (for replayHistory). */
const durableTaskOwners = new WeakMap<object, Declaration & { readonly name: string }>();
export const workflowOfDurableTask = (handle: object) => durableTaskOwners.get(handle);

export class Workflow<I = unknown, O = Record<string, unknown>> extends Runnable<I, O> {
  readonly kind = 'workflow' as const;
  readonly triggers: { onEvents?: string[]; onCrons?: string[] };
  private readonly fns = new Map<string, TaskFunction>();

  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(
    readonly options: WorkflowOptions<I>,
    triggerer: Triggerer,
  ) {
    const name = checkName(options.name, 'workflow');
    checkOptions(options, OPTIONS.workflow, `workflow '${name}'`);
    checkOptions(options.taskDefaults, OPTIONS.taskDefaults, `workflow '${name}': taskDefaults`);
    const sticky = stickyOf(options.sticky, `workflow '${name}'`);
    const spec: RunSpec = {
      name,
      kind: 'workflow',
      tasks: [],
      concurrency: concurrencyOf(options.concurrency, `workflow '${name}'`),
      ...(sticky && { sticky }),
      ...retentionOf(options.retention, `workflow '${name}'`),
    };
    const defaults = {
      defaultPriority: checkPriority(
        options.defaultPriority ?? 1,
        `workflow '${name}': defaultPriority`,
      ),
      defaultAdditionalMetadata: { ...options.defaultAdditionalMetadata },
    };
    super(name, spec, defaults, options.inputValidator, triggerer);
    this.triggers = checkTriggers(options, `workflow '${name}'`);
  }

  /**
   * A task in the DAG. With the workflow's output type given (`skein.workflow<I, O>`), `name`
   * must be one of O's keys and `fn` must return that key's type, so `run()` resolves to O.
   */
  task<N extends keyof O & string, T extends O[N]>(
    options: WorkflowTaskOptions<I, T> & { name: N },
  ): WorkflowTask<T> {
    return this.declareTask(options);
  }

  /** A durable task in the DAG: its durable calls are recorded and replayed (see DurableContext). */
  durableTask<N extends keyof O & string, T extends O[N]>(
    options: WorkflowDurableTaskOptions<I, T> & { name: N },
  ): WorkflowTask<T> {
    const where = `workflow '${this.name}', durable task '${options?.name}'`;
    const handle = this.declareTask(options, durableOf(options?.evictionPolicy, where));
    durableTaskOwners.set(handle, this);
    return handle;
  }

  private declareTask<T>(
    options: WorkflowTaskOptions<I, T> | WorkflowDurableTaskOptions<I, T>,
    durable?: TaskFunction['durable'],
  ): WorkflowTask<T> {
    const where = `workflow '${this.name}', task '${options?.name}'`;
    const name = checkName(options?.name, `${where}:`);
    checkOptions(options, durable ? OPTIONS.durableTask : OPTIONS.task, where);
    const parents = (options.parents ?? []).map((p) => {
      const parent =
        typeof p?.name === 'string'
          ? this.spec.tasks.find((t) => t.name === p.name && !t.role)
          : undefined;
      if (!parent) {
        throw new ValidationError(
          `${where}: parent '${p?.name}' is not a task declared earlier in this workflow`,
        );
      }
      return parent.name;
    });
    return this.declare(
      name,
      options,
      where,
      {
        parents: parents.length ? parents : undefined,
        waitFor: conditionExpr(options.waitFor, `${where}, waitFor`, parents),
        skipIf: conditionExpr(options.skipIf, `${where}, skipIf`, parents, 'skipIf.'),
        cancelIf: conditionExpr(options.cancelIf, `${where}, cancelIf`, parents, 'cancelIf.'),
        durable: durable ? true : undefined,
      },
      durable,
    );
  }

  /** Runs once after a task failed for good and the tasks not depending on it ended; `ctx.taskRunErrors` says which and why. */
  onFailure(options: WorkflowHookOptions<I>): WorkflowTask<unknown> {
    return this.declareHook(ON_FAILURE, 'onFailure', options);
  }

  /** Runs after every task of the run succeeded. */
  onSuccess(options: WorkflowHookOptions<I>): WorkflowTask<unknown> {
    return this.declareHook(ON_SUCCESS, 'onSuccess', options);
  }

  functions(): Map<string, TaskFunction> {
    return this.fns;
  }

  private declareHook(
    name: string,
    role: 'onFailure' | 'onSuccess',
    options: WorkflowHookOptions<I>,
  ) {
    const where = `workflow '${this.name}', ${role}`;
    checkOptions(options, OPTIONS.hook, where);
    if (this.spec.tasks.some((t) => t.role === role))
      throw new ValidationError(`${where}: declared twice`);
    return this.declare(name, options, where, { role });
  }

  private declare<T>(
    name: string,
    options: WorkflowTaskDefaults & { fn: (input: I, ctx: never) => T | Promise<T> },
    where: string,
    shape: Pick<TaskSpec, 'parents' | 'role' | 'waitFor' | 'skipIf' | 'cancelIf' | 'durable'>,
    durable?: TaskFunction['durable'],
  ): WorkflowTask<T> {
    if (this.fns.has(name))
      throw new ValidationError(`${where}: a task named '${name}' is declared already`);
    if (typeof options.fn !== 'function')
      throw new ValidationError(`${where}: fn must be a function`);
    const {
      fn: _fn,
      evictionPolicy: _policy,
      ...taskOptions
    } = options as typeof options & {
      evictionPolicy?: unknown;
    };
    const settings = { ...this.options.taskDefaults, ...taskOptions };
    const spec = taskSpecOf(name, settings, where);
    const concurrency = concurrencyOf(settings.concurrency, where);
    this.spec.tasks.push({ ...spec, ...shape, ...(concurrency ? { concurrency } : {}) });
    this.fns.set(name, {
      fn: options.fn as TaskFunction['fn'],
      inputValidator: this.options.inputValidator,
      durable,
    });
    return { name };
  }
}
