/** What a task attempt's code ended with, as its run records it: its output checked, or its error. */
import type { TaskError } from '../actors/run/messages.js';
import { errorText } from '../actors/run/messages.js';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { NonDeterminismError, NonRetryableError } from './errors.js';
import { validateInput, type TaskFunction } from './task.js';

/** An error the worker made that fails the attempt for good; `invalidInput`: the run's input failed its validator. */
export class Fatal extends Error {
  constructor(
    readonly error: Error,
    readonly invalidInput = false,
  ) {
    super(error.message);
  }
}

/** Input from a trigger by name meets the task's inputValidator here; bad input fails the run at once. */
export async function parsedOrFatal(
  validator: NonNullable<TaskFunction['inputValidator']>,
  task: QueuedTask,
) {
  try {
    return await validateInput(validator, task.input, task.workflowName);
  } catch (err) {
    throw new Fatal(err as Error, true);
  }
}

/** What a failed attempt records: the error's class and message, and where the code threw it. */
export function toTaskError(err: unknown, withStack = true): TaskError {
  if (err instanceof Fatal)
    return {
      ...toTaskError(err.error, false),
      nonRetryable: true,
      ...(err.invalidInput && { invalidInput: true }),
    };
  if (err instanceof Error) {
    const error: TaskError = {
      name: classOf(err),
      message: err.message,
      nonRetryable:
        err instanceof NonRetryableError || err instanceof NonDeterminismError || undefined,
    };
    const stack = withStack ? stackOf(err, error) : undefined;
    return stack ? { ...error, stack } : error;
  }
  return {
    name: 'Error',
    message: typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)),
  };
}

const MAX_STACK_CHARS = 4000;

/** The error's stack, headed by its class and message as the run records them. */
function stackOf(err: Error, recorded: TaskError): string | undefined {
  if (!err.stack) return undefined;
  const header = `${err.name}: ${err.message}`;
  const stack = err.stack.startsWith(header)
    ? errorText(recorded) + err.stack.slice(header.length)
    : err.stack;
  return stack.slice(0, MAX_STACK_CHARS);
}

/** `err.name`, or the subclass's own name when it left `name` as 'Error'. */
function classOf(err: Error): string {
  if (err.name && err.name !== 'Error') return err.name;
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' && ctor.length > 0 ? ctor : 'Error';
}
