import { pino, type Logger } from 'pino';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import type { Context, TaskLike, TaskLogger } from './context.js';
import { toMs, type Duration } from './duration.js';
import { SkeinError } from './errors.js';
import { encodeChunk } from './run-streams.js';
import type { LogLine } from '../runtime/protocol-api.js';

export type { LogLine };

/** What a context needs from the worker that runs it. */
export interface ContextHost {
  workerId: string;
  storeLog(line: LogLine): void;
  /** Publishes an encoded stream chunk of this task's run. */
  putStream(chunk: Uint8Array): void;
  refreshTimeout(byMs: number): Promise<void>;
  cancelRun(): Promise<void>;
}

const PINO_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** A format string pino would fill from the arguments after it. */
const PLACEHOLDER = /%[sdifjoO]/;

/** `(msg, obj)`, as other SDKs log, goes to pino as its `(obj, msg)`. */
function msgFirst(
  this: Logger,
  args: Parameters<Logger['info']>,
  method: (...a: unknown[]) => void,
) {
  const [first, second] = args as unknown[];
  if (
    args.length === 2 &&
    typeof first === 'string' &&
    !PLACEHOLDER.test(first) &&
    typeof second === 'object' &&
    second !== null
  )
    return method.apply(this, [second, first]);
  return method.apply(this, args);
}

export class ContextImpl<I> implements Context<I> {
  private pinoLogger?: Logger;

  constructor(
    private readonly task: QueuedTask,
    private readonly host: ContextHost,
    readonly signal: AbortSignal,
  ) {}

  get logger(): TaskLogger {
    const { host, task } = this;
    this.pinoLogger ??= pino(
      { base: undefined, timestamp: false, hooks: { logMethod: msgFirst } },
      {
        write: (line: string) => {
          const { level, msg, ...rest } = JSON.parse(line) as { level: number; msg?: string };
          const message =
            msg !== undefined && Object.keys(rest).length === 0
              ? msg
              : JSON.stringify(msg === undefined ? rest : { msg, ...rest });
          host.storeLog({
            at: Date.now(),
            level: PINO_LEVELS[level] ?? String(level),
            taskName: task.taskName,
            message,
          });
        },
      },
    );
    return this.pinoLogger as TaskLogger;
  }

  get input(): I {
    return this.task.input as I;
  }

  parentOutput<O>(task: TaskLike<O>): O {
    const outputs = this.task.parentOutputs ?? {};
    if (!(task.name in outputs)) {
      throw new SkeinError(
        `task '${this.task.taskName}' has no output from '${task.name}': it is not a parent that ran`,
      );
    }
    return outputs[task.name] as O;
  }

  taskOutput<O>(task: TaskLike<O>): O {
    return this.parentOutput(task);
  }

  log(message: string | object) {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    this.host.storeLog({
      at: Date.now(),
      level: 'info',
      taskName: this.task.taskName,
      message: text,
    });
  }

  putStream(chunk: unknown): void {
    this.host.putStream(encodeChunk(chunk));
  }

  refreshTimeout(duration: Duration): Promise<void> {
    return this.host.refreshTimeout(toMs(duration, 'refreshTimeout'));
  }

  cancel(): Promise<void> {
    return this.host.cancelRun();
  }

  get taskRunErrors() {
    return this.task.taskRunErrors ?? {};
  }
  get retryCount() {
    return this.task.attempt - 1;
  }
  get attemptNumber() {
    return this.task.attempt;
  }
  get maxAttempts() {
    return this.task.maxAttempts;
  }
  get runId() {
    return this.task.runId;
  }
  get taskRunId() {
    return `${this.task.runId}:${this.task.taskName}`;
  }
  get taskName() {
    return this.task.taskName;
  }
  get workflowName() {
    return this.task.workflowName;
  }
  get workerId() {
    return this.host.workerId;
  }
  get priority() {
    return this.task.priority;
  }
  get additionalMetadata() {
    return this.task.additionalMetadata;
  }
}
