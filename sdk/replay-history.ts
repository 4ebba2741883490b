/**
 * `replayHistory(declaration, history)`: runs a durable task's code offline against a run's
 * recorded history (from `skein.runs.history(runId)`) and reports whether the code still takes
 * the recorded path. Check a code change against production runs before deploying it.
 */
import { runActor, type RunEvent, type RunState } from '../actors/run/index.js';
import { lastGenerationCalls } from '../actors/run/recorded-calls.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { currentRun } from './current-run.js';
import { DurableCalls, type DurableIo } from './durable-calls.js';
import { DurableContextImpl } from './durable-context-impl.js';
import { NonDeterminismError, SkeinError, ValidationError } from './errors.js';
import { Replayer } from './replayer.js';
import type { RunEventRecord } from './runs.js';
import type { Declaration } from './worker.js';
import { workflowOfDurableTask, type WorkflowTask } from './workflow.js';
import { attemptScope, queueKey } from '../runtime/ids.js';

export interface ReplayReport {
  taskName: string;
  /**
   * completed: the code returned, having made exactly the recorded calls;
   * waiting: it made every recorded call and then asked for one the run had not made yet;
   * diverged: it took another path (`error` is a NonDeterminismError naming the position);
   * failed: it threw (`error`), or did not finish within `timeoutMs`.
   */
  outcome: 'completed' | 'waiting' | 'diverged' | 'failed';
  /** True when the code followed the history: completed or waiting. */
  ok: boolean;
  /** Calls in the history, and how many the code went through. */
  recorded: number;
  replayed: number;
  output?: unknown;
  error?: Error;
}

export interface ReplayOptions {
  /** The durable task of a workflow to replay; needed when the workflow has more than one. */
  taskName?: string;
  /** Give up on code that waits for something else (default 10 s). */
  timeoutMs?: number;
}

/** The run as its history leaves it, folded with the run actor's own evolve, and its events. */
function foldHistory(history: RunEventRecord[], runId: string) {
  const events: RunEvent[] = [];
  const run = history.reduce((state: RunState, { seq, type, at, data }) => {
    const event = { ...data, type, at: at.getTime() } as RunEvent;
    events.push(event);
    try {
      return runActor.evolve(state, event);
    } catch (err) {
      throw new ValidationError(
        `event ${seq} of the history (${type}) cannot be read: ${(err as Error).message}`,
      );
    }
  }, runActor.initial(runId));
  return { run, events };
}

function durableTaskName(declaration: Declaration, given: string | undefined): string {
  const durable = declaration.spec.tasks.filter((t) => t.durable).map((t) => t.name);
  if (given !== undefined) {
    if (!durable.includes(given))
      throw new ValidationError(`'${declaration.spec.name}' has no durable task '${given}'`);
    return given;
  }
  if (durable.length === 1) return durable[0];
  throw new ValidationError(
    durable.length === 0
      ? `'${declaration.spec.name}' has no durable task to replay`
      : `'${declaration.spec.name}' has several durable tasks: pass { taskName }`,
  );
}

/** What to replay: a declaration (and maybe a task name), or a workflow's durable task handle. */
function replayTarget(given: Declaration | WorkflowTask<unknown>, taskName: string | undefined) {
  const workflow = workflowOfDurableTask(given);
  if (workflow) {
    const { name } = given as WorkflowTask<unknown>;
    if (taskName !== undefined && taskName !== name)
      throw new ValidationError(
        `replayHistory was given durable task '${name}' of workflow '${workflow.name}' ` +
          `and taskName '${taskName}': pass the workflow to choose another of its tasks`,
      );
    return { declaration: workflow, taskName: name };
  }
  if (!('spec' in given) || typeof given.functions !== 'function')
    throw new ValidationError(
      `replayHistory takes a durable task (skein.durableTask or wf.durableTask) or a workflow, ` +
        `got ${JSON.stringify(given)}`,
    );
  return { declaration: given, taskName: durableTaskName(given, taskName) };
}

export async function replayHistory(
  given: Declaration | WorkflowTask<unknown>,
  history: RunEventRecord[],
  opts: ReplayOptions = {},
): Promise<ReplayReport> {
  const { declaration, taskName } = replayTarget(given, opts.taskName);
  const triggered = history.find((e) => e.type === 'RunTriggered');
  if (!triggered) throw new ValidationError('the history has no RunTriggered event');
  const { run, events } = foldHistory(history, triggered.data.runId as string);
  // A replay of the run (RunReplayed) started its tasks afresh: these are the latest generation's.
  const calls = lastGenerationCalls(events, taskName);
  const spec = declaration.spec.tasks.find((t) => t.name === taskName)!;
  const parentOutputs = Object.fromEntries(
    (spec.parents ?? [])
      .filter((p) => run.tasks[p]?.status === 'COMPLETED')
      .map((p) => [p, run.tasks[p].output]),
  );
  const task: QueuedTask = {
    key: queueKey(run.runId, taskName, 0, 1),
    runId: run.runId,
    workflowName: declaration.spec.name,
    taskName,
    attempt: 1,
    maxAttempts: spec.retries + 1,
    priority: run.priority,
    enqueuedAt: run.createdAt,
    scheduleTimeoutMs: spec.scheduleTimeoutMs,
    executionTimeoutMs: spec.executionTimeoutMs,
    input: run.input,
    additionalMetadata: run.additionalMetadata,
    parentOutputs,
    durable: true,
  };
  const replayer = new Replayer(calls, taskName, true);
  const offline: DurableIo = {
    record: async () => undefined,
    wait: async () => undefined,
  };
  const durableCalls = new DurableCalls(replayer, offline, attemptScope(task.key), taskName);
  const ctx = new DurableContextImpl<unknown>(
    task,
    {
      workerId: 'offline-replay',
      storeLog: () => undefined,
      putStream: () => undefined,
      refreshTimeout: async () => undefined,
      cancelRun: async () => undefined,
    },
    new AbortController().signal,
    durableCalls,
  );
  const fn = declaration.functions().get(taskName)!.fn;
  const report = (outcome: ReplayReport['outcome'], extra: Partial<ReplayReport> = {}) => ({
    taskName,
    outcome,
    ok: outcome === 'completed' || outcome === 'waiting',
    recorded: calls.length,
    replayed: Math.min(replayer.position, calls.length),
    ...extra,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SkeinError(`the code did not finish within ${timeoutMs} ms of replay`)),
      timeoutMs,
    );
  });
  try {
    const output = await Promise.race([
      currentRun.run({ runId: task.runId, durable: durableCalls }, () =>
        Promise.resolve().then(() => fn(task.input, ctx)),
      ),
      tooSlow,
    ]);
    if (replayer.diverged) return report('diverged', { error: replayer.diverged });
    if (replayer.reachedEnd) return report('waiting');
    if (replayer.position < calls.length) {
      const error = new NonDeterminismError(
        `durable task '${taskName}' took another path on replay: the code returned after ` +
          `${replayer.position} durable calls, but the history records ${calls.length}`,
      );
      return report('diverged', { error });
    }
    return report('completed', { output });
  } catch (err) {
    if (replayer.diverged) return report('diverged', { error: replayer.diverged });
    if (replayer.reachedEnd) return report('waiting');
    return report('failed', { error: err instanceof Error ? err : new Error(String(err)) });
  } finally {
    clearTimeout(timer);
  }
}
