/**
 * One durable task execution's durable calls: each goes through the replayer; a recorded one
 * returns at once, a new one is recorded (memo, now, uuid, spawn) or waited for (sleeps,
 * events, child runs) through the worker.
 */
import type { RunFinished } from '../actors/effects.js';
import type { DurableCallKind } from '../actors/run/messages.js';
import type { ConditionExpr } from '../actors/run/spec.js';
import type { ChildLink, DurableChildren } from './current-run.js';
import { SkeinError } from './errors.js';
import { toJson } from './json.js';
import type { Replayer } from './replayer.js';
import { makeRunRef, outcome, type RunRef } from './run-ref.js';
import { keyedRunId } from '../runtime/ids.js';

interface NewCall {
  position: number;
  kind: DurableCallKind;
  callKey: string;
}

/** What recording and waiting need from the worker (or, offline, from a replay check). */
export interface DurableIo {
  /** Stores a call's result in the run's journal. */
  record(call: NewCall & { result: unknown }): Promise<void>;
  /** Suspends the task on a wait; resolves with the wait's result when the task resumes. */
  wait(call: NewCall & { conditions?: ConditionExpr; childRunId?: string }): Promise<unknown>;
}

/** A child run's end as `runMany(items, { returnExceptions: true })` returns it. */
function settled<O>(finished: RunFinished): O | Error {
  try {
    return outcome<O>(finished);
  } catch (err) {
    return err as Error;
  }
}

export class DurableCalls implements DurableChildren {
  /** Records go out in position order, even when calls run concurrently. */
  private tail: Promise<unknown> = Promise.resolve();
  private waiting?: string;

  /** `scope` names this task's history: `<runId>:<task>:<generation>`. */
  constructor(
    private readonly replayer: Replayer,
    private readonly io: DurableIo,
    private readonly scope: string,
    private readonly taskName: string,
  ) {}

  get diverged() {
    return this.replayer.diverged;
  }

  /** True while the code is before the last recorded call: what it does now was done before. */
  get replaying() {
    return !this.replayer.caughtUp;
  }

  /** A call that completes here: `compute` runs only when the position is not recorded. */
  async call<T>(kind: DurableCallKind, callKey: string, compute: () => T | Promise<T>): Promise<T> {
    this.checkNotWaiting(kind);
    const step = this.replayer.step(kind, callKey);
    if (step.recorded) return step.result as T;
    const before = this.tail;
    const done = (async () => {
      const result = toJson(await compute(), `the result of durable ${kind} in '${this.taskName}'`);
      await before;
      await this.io.record({ position: step.position, kind, callKey, result });
      this.replayer.learn(step.position, { kind, callKey, result });
      return result as T;
    })();
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** A call that waits: the task suspends until the run actor resolves it. */
  async wait(
    kind: DurableCallKind,
    callKey: string,
    what: { conditions?: ConditionExpr; childRunId?: string },
  ): Promise<unknown> {
    this.checkNotWaiting(kind);
    const step = this.replayer.step(kind, callKey);
    if (step.recorded) return step.result;
    return this.suspend({ position: step.position, kind, callKey, ...what });
  }

  /** `child.run()` (wait) or `child.runNoWait()` inside the task: the child is started once. */
  async child<O>(
    name: string,
    start: (link: ChildLink) => Promise<RunRef<O>>,
    wait: boolean,
  ): Promise<O | RunRef<O>> {
    // The same id on every replay: starting it again finds the run that exists.
    const runId = keyedRunId(name, `${this.scope}#${this.replayer.position}`);
    if (!wait && this.replayer.offline) {
      // Replaying offline: a recorded spawn returns a handle, and starts nothing.
      await this.call('spawn', name, () => runId);
      return makeRunRef<O>(
        runId,
        () => Promise.reject(new SkeinError('offline replay')),
        async () => undefined,
      );
    }
    if (!wait) {
      let ref: RunRef<O> | undefined;
      await this.call('spawn', name, async () => {
        ref = await start({ runId });
        return runId;
      });
      return ref ?? start({ runId });
    }
    this.checkNotWaiting('child');
    const step = this.replayer.step('child', name);
    if (step.recorded) return outcome<O>(step.result as RunFinished);
    const result = await this.suspend(
      { position: step.position, kind: 'child', callKey: name, childRunId: runId },
      () => start({ runId, parentCall: { taskName: this.taskName, position: step.position } }),
    );
    return outcome<O>(result as RunFinished);
  }

  /**
   * `runMany` inside the task: each run is a recorded spawn whose end is reported to this task,
   * then each run's end is a durable child wait, in order (the runs themselves run at once).
   */
  async runMany<O>(
    name: string,
    starts: ((link: ChildLink) => Promise<RunRef<O>>)[],
    returnExceptions: boolean,
  ): Promise<(O | Error)[]> {
    const runIds = await Promise.all(starts.map((start) => this.spawn(name, start)));
    const results: (O | Error)[] = [];
    for (const childRunId of runIds) {
      const finished = (await this.wait('child', name, { childRunId })) as RunFinished;
      results.push(returnExceptions ? settled<O>(finished) : outcome<O>(finished));
    }
    return results;
  }

  /** A run started later (a schedule), recorded as a spawn: `idKey` names it on every replay. */
  startLater<T>(name: string, make: (idKey: string) => Promise<T>): Promise<T> {
    const idKey = `${this.scope}#${this.replayer.position}`;
    return this.call('spawn', name, () => make(idKey));
  }

  /** Starts a run once, as a recorded spawn whose end the run actor hears; resolves with its id. */
  private spawn<O>(name: string, start: (link: ChildLink) => Promise<RunRef<O>>): Promise<string> {
    const position = this.replayer.position;
    const runId = keyedRunId(name, `${this.scope}#${position}`);
    return this.call('spawn', name, async () => {
      await start({ runId, parentCall: { taskName: this.taskName, position } });
      return runId;
    });
  }

  private async suspend(
    call: Parameters<DurableIo['wait']>[0],
    before?: () => Promise<unknown>,
  ): Promise<unknown> {
    this.waiting = `${call.kind}(${call.callKey})`;
    try {
      await this.tail;
      await before?.();
      const result = await this.io.wait(call);
      this.replayer.learn(call.position, { kind: call.kind, callKey: call.callKey, result });
      return result;
    } finally {
      this.waiting = undefined;
    }
  }

  private checkNotWaiting(kind: string) {
    if (this.waiting) {
      throw new SkeinError(
        `durable task '${this.taskName}' called ${kind} while it waits on ${this.waiting}: ` +
          `await each sleep, event wait or child run before the next durable call`,
      );
    }
  }
}
