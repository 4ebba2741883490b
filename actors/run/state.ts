/** The run actor's state, rebuilt by folding its events. */
import { assertNever } from '../actor.js';
import type { GroupRef, RunEvent } from './events.js';
import type { RunSpec } from './spec.js';
import { errorText, type DurableCallKind, type RunCreation } from './messages.js';
import type { RunFinished } from '../effects.js';
import type { ConditionExpr } from './spec.js';

/** Slots a run or task run holds (or waits for) in its concurrency groups. */
export interface Admission {
  holder: string;
  groups: GroupRef[];
  /** How many of `groups`, in order, granted a slot. */
  granted: number;
  released?: boolean;
}

export interface DurableCallRecord {
  kind: DurableCallKind;
  callKey: string;
  result: unknown;
}

/** The durable call a durable task waits on. */
export interface DurableWaitState {
  position: number;
  kind: DurableCallKind;
  callKey: string;
  conditions?: ConditionExpr;
  childRunId?: string;
  startedAt: number;
  /** Conditions that held, with their data (an event's payload). */
  met: Record<string, unknown>;
}
import { queueKey } from '../scheduler/queued-task.js';
import { stickyWorkerAfterStart } from './placement.js';

export type RunStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type TaskStatus =
  | 'PENDING'
  | 'WAITING'
  | 'QUEUED'
  | 'RUNNING'
  /** A durable task waiting on a durable call, its slot given back. */
  | 'SUSPENDED'
  | 'RETRYING'
  | 'COMPLETED'
  | 'SKIPPED'
  | 'FAILED'
  | 'CANCELLED';

export interface TaskRunState {
  name: string;
  status: TaskStatus;
  attempt: number;
  /** The queue key of the current attempt. */
  key: string;
  workerId?: string;
  startedAt?: number;
  finishedAt?: number;
  output?: unknown;
  /** `'<Class>: <message>'` of its last failure. */
  error?: string;
  errorClass?: string;
  /** Conditions of a waiting task that held (sleeps that elapsed). */
  met?: string[];
  /** When a workflow task began waiting on its conditions: their sleeps count from then. */
  waitingSince?: number;
  /**
   * How many durable calls this durable task has recorded, kept across attempts of this
   * generation. The calls themselves stay in the journal (`recordedCalls`): a state that held
   * them would grow, and be copied and snapshotted, with every call.
   */
  callCount?: number;
  /** The durable call it waits on, until that resolves. */
  waiting?: DurableWaitState;
  /** How often it was queued again after a wait (part of the queue key). */
  resumes?: number;
  /** Its concurrency slots: it is queued once every group granted one. */
  admission?: Admission;
}

export interface RunState extends RunCreation {
  exists: boolean;
  status: RunStatus;
  /** Bumped by a replay, so a replayed attempt never shares a queue key with an old one. */
  generation: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  output?: unknown;
  errors?: Record<string, string>;
  /** The class of the failure that failed the run. */
  errorClass?: string;
  /** The first task that failed for good: its failure is the run's. */
  failedFirst?: string;
  /** A task found that the run's input fails its inputValidator. */
  inputInvalid?: boolean;
  cancelReason?: string;
  tasks: Record<string, TaskRunState>;
  /** Runs started by this run's tasks. */
  children: string[];
  /** How children started by durable calls ended. */
  childResults?: Record<string, RunFinished>;
  /** The run's concurrency slots: its tasks start once every group granted one. */
  admission?: Admission;
  /** A sticky run's worker: the one that started its first task. */
  stickyWorkerId?: string;
}

export function initialRunState(runId: string): RunState {
  return {
    runId,
    exists: false,
    spec: { name: '', kind: 'task', tasks: [] },
    input: null,
    additionalMetadata: {},
    priority: 1,
    status: 'QUEUED',
    generation: 0,
    createdAt: 0,
    tasks: {},
    children: [],
  };
}

export const isTerminal = (status: RunStatus | TaskStatus) =>
  status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED' || status === 'SKIPPED';

/** Whether attempt `key` is the task's current one and waits for, or holds, a worker slot. */
export function isQueuedOrRunning(state: RunState, taskName: string, key: string): boolean {
  const task = state.tasks[taskName];
  return task?.key === key && (task.status === 'QUEUED' || task.status === 'RUNNING');
}

/** A task that let its dependents go on: it succeeded, or it was skipped. */
export const isDone = (status: TaskStatus) => status === 'COMPLETED' || status === 'SKIPPED';

function freshTasks(
  spec: RunSpec,
  runId: string,
  generation: number,
): Record<string, TaskRunState> {
  const tasks: Record<string, TaskRunState> = {};
  for (const t of spec.tasks) {
    tasks[t.name] = {
      name: t.name,
      status: 'PENDING',
      attempt: 0,
      key: queueKey(runId, t.name, generation, 0),
    };
  }
  return tasks;
}

/** `fromTask` and every task that depends on it, directly or through others. */
export function downstreamOf(spec: RunSpec, fromTask: string): Set<string> {
  const found = new Set([fromTask]);
  for (let grew = true; grew;) {
    grew = false;
    for (const t of spec.tasks) {
      if (found.has(t.name) || !(t.parents ?? []).some((p) => found.has(p))) continue;
      found.add(t.name);
      grew = true;
    }
  }
  return found;
}

/**
 * The tasks of a replayed run: all fresh, or (from a task) fresh but for the main tasks that
 * succeeded or were skipped and are not downstream of `fromTask`, which keep their outcome.
 */
function replayedTasks(
  state: RunState,
  generation: number,
  fromTask: string | undefined,
): Record<string, TaskRunState> {
  const fresh = freshTasks(state.spec, state.runId, generation);
  if (fromTask === undefined) return fresh;
  const rerun = downstreamOf(state.spec, fromTask);
  for (const t of state.spec.tasks) {
    const old = state.tasks[t.name];
    if (!t.role && old && isDone(old.status) && !rerun.has(t.name)) fresh[t.name] = old;
  }
  return fresh;
}

function withTask(state: RunState, name: string, patch: Partial<TaskRunState>): RunState {
  return { ...state, tasks: { ...state.tasks, [name]: { ...state.tasks[name], ...patch } } };
}

export function evolveRun(state: RunState, event: RunEvent): RunState {
  switch (event.type) {
    case 'RunTriggered': {
      const { type: _type, at: _at, ...creation } = event;
      return {
        ...state,
        ...creation,
        exists: true,
        status: 'QUEUED',
        createdAt: event.at,
        tasks: freshTasks(event.spec, state.runId, state.generation),
      };
    }
    case 'TaskQueued':
      return withTask(state, event.taskName, {
        status: 'QUEUED',
        attempt: event.attempt,
        key: event.key,
        workerId: undefined,
        resumes: event.resume ?? state.tasks[event.taskName]?.resumes,
      });
    case 'TaskStarted':
      return {
        ...withTask(state, event.taskName, {
          status: 'RUNNING',
          workerId: event.workerId,
          startedAt: event.at,
        }),
        status: isTerminal(state.status) ? state.status : 'RUNNING',
        startedAt: state.startedAt ?? event.at,
        ...stickyWorkerAfterStart(state, event.workerId),
      };
    case 'TaskSucceeded':
      return withTask(state, event.taskName, {
        status: 'COMPLETED',
        output: event.output,
        error: undefined,
        errorClass: undefined,
        finishedAt: event.at,
      });
    case 'TaskFailed': {
      const failed = withTask(state, event.taskName, {
        status: event.final ? 'FAILED' : 'RETRYING',
        error: errorText(event.error),
        errorClass: event.error.name,
        finishedAt: event.at,
      });
      if (!event.final) return failed;
      return {
        ...failed,
        failedFirst: state.failedFirst ?? event.taskName,
        inputInvalid: state.inputInvalid || event.error.invalidInput || undefined,
      };
    }
    case 'RetryScheduled':
      return withTask(state, event.taskName, {
        status: 'RETRYING',
        attempt: event.attempt,
        key: event.key,
      });
    case 'TaskRequeued':
      return withTask(state, event.taskName, { status: 'QUEUED', workerId: undefined });
    case 'TimeoutRefreshed':
      return state;
    case 'TaskCancelled':
      return withTask(state, event.taskName, { status: 'CANCELLED', finishedAt: event.at });
    case 'RunCompleted':
      return { ...state, status: 'COMPLETED', output: event.output, finishedAt: event.at };
    case 'RunFailed':
      return {
        ...state,
        status: 'FAILED',
        errors: event.errors,
        errorClass: event.errorClass,
        finishedAt: event.at,
      };
    case 'RunCancelled':
      return { ...state, status: 'CANCELLED', cancelReason: event.reason, finishedAt: event.at };
    case 'TaskWaiting':
      return withTask(state, event.taskName, {
        status: 'WAITING',
        met: [],
        waitingSince: event.at,
      });
    case 'ConditionMet': {
      const task = state.tasks[event.taskName];
      if (task?.waiting) {
        const met = { ...task.waiting.met, [event.conditionId]: event.data ?? null };
        return withTask(state, event.taskName, { waiting: { ...task.waiting, met } });
      }
      return withTask(state, event.taskName, { met: [...(task?.met ?? []), event.conditionId] });
    }
    case 'TaskSkipped':
      return withTask(state, event.taskName, {
        status: 'SKIPPED',
        output: { skipped: true },
        finishedAt: event.at,
      });
    case 'DurableCallRecorded': {
      const task = state.tasks[event.taskName];
      return withTask(state, event.taskName, {
        callCount: Math.max(task?.callCount ?? 0, event.position + 1),
        waiting: task?.waiting?.position === event.position ? undefined : task?.waiting,
      });
    }
    case 'DurableWaitStarted':
      return withTask(state, event.taskName, {
        waiting: {
          position: event.position,
          kind: event.kind,
          callKey: event.callKey,
          conditions: event.conditions,
          childRunId: event.childRunId,
          startedAt: event.at,
          met: {},
        },
      });
    case 'TaskSuspended':
      return {
        ...withTask(state, event.taskName, { status: 'SUSPENDED', workerId: event.workerId }),
        status: isTerminal(state.status) ? state.status : 'RUNNING',
      };
    case 'AdmissionRequested': {
      const admission: Admission = { holder: event.holder, groups: event.groups, granted: 0 };
      if (!event.taskName) return { ...state, admission };
      return withTask(state, event.taskName, { status: 'QUEUED', admission });
    }
    case 'AdmissionGranted':
    case 'AdmissionReleased': {
      const current = event.taskName ? state.tasks[event.taskName]?.admission : state.admission;
      if (!current) return state;
      const admission =
        event.type === 'AdmissionGranted'
          ? { ...current, granted: current.granted + 1 }
          : { ...current, released: true };
      return event.taskName
        ? withTask(state, event.taskName, { admission })
        : { ...state, admission };
    }
    case 'ChildFinished':
      return {
        ...state,
        childResults: { ...state.childResults, [event.childRunId]: event.result },
      };
    case 'ChildLinked':
      return { ...state, children: [...state.children, event.childRunId] };
    case 'RunReplayed': {
      const generation = state.generation + 1;
      return {
        ...state,
        generation,
        status: 'QUEUED',
        startedAt: undefined,
        finishedAt: undefined,
        output: undefined,
        errors: undefined,
        errorClass: undefined,
        failedFirst: undefined,
        inputInvalid: undefined,
        cancelReason: undefined,
        admission: undefined,
        stickyWorkerId: undefined,
        tasks: replayedTasks(state, generation, event.fromTask),
      };
    }
    default:
      return assertNever(event, 'run event');
  }
}
