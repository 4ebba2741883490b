/**
 * What a worker serves, built from the declarations it was given: each task's code by its
 * identity (its workflow's name and its own; task names repeat across workflows), the
 * registrations it stores, and what its heartbeats say it serves.
 */
import { taskIdentity, type QueuedTask } from '../actors/scheduler/queued-task.js';
import type { RunSpec } from '../actors/run/spec.js';
import { shapeOf, type RegisteredTask, type WorkerRecord } from '../runtime/protocol.js';
import { ValidationError } from './errors.js';
import type { TaskFunction } from './task.js';
import type { TriggerDefaults } from './trigger.js';

/** What a worker needs of a task or workflow declaration. */
export interface Declaration {
  readonly spec: RunSpec;
  readonly defaults: TriggerDefaults;
  /** Declared event and cron triggers, registered with the task. */
  readonly triggers: { onEvents?: string[]; onCrons?: string[] };
  /** The declaration's code, by task name. */
  functions(): Map<string, TaskFunction>;
}

export interface Served {
  /** Task code by taskIdentity. */
  functions: Map<string, TaskFunction>;
  registrations: RegisteredTask[];
  serves: WorkerRecord['serves'];
}

/**
 * Names are unique per namespace, so two declarations of one name given to one worker are a
 * mistake (the last would silently win): refused, naming both. The same declaration listed
 * twice is one.
 */
export function servedBy(workerName: string, declarations: readonly Declaration[]): Served {
  const served: Served = { functions: new Map(), registrations: [], serves: [] };
  const byName = new Map<string, { decl: Declaration; index: number }>();
  declarations.forEach((decl, index) => {
    const name = decl.spec.name;
    const earlier = byName.get(name);
    if (earlier?.decl === decl) return;
    if (earlier) {
      throw new ValidationError(
        `worker '${workerName}': workflows[${earlier.index}] (${describe(earlier.decl.spec)}) and ` +
          `workflows[${index}] (${describe(decl.spec)}) have the same name; a task or workflow ` +
          `name must be unique in its namespace: rename one`,
      );
    }
    byName.set(name, { decl, index });
    const fns = decl.functions();
    for (const [taskName, fn] of fns) served.functions.set(taskIdentity(name, taskName), fn);
    served.registrations.push({ spec: decl.spec, ...decl.defaults, ...decl.triggers });
    served.serves.push({ name, shape: shapeOf(decl.spec), tasks: [...fns.keys()] });
  });
  return served;
}

/** The code of a dispatched task run: its workflow's task of that name, not any task so named. */
export function functionFor(served: Served, task: Pick<QueuedTask, 'workflowName' | 'taskName'>) {
  return served.functions.get(taskIdentity(task.workflowName, task.taskName));
}

function describe(spec: RunSpec) {
  const kind =
    spec.kind === 'workflow' ? 'workflow' : spec.tasks[0]?.durable ? 'durable task' : 'task';
  return `${kind} '${spec.name}'`;
}
