/** An attempt's execution deadline: extendable, and paused while a durable task waits. */
import { TimeoutError } from './errors.js';

export class Deadline {
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private at = 0;
  private reject: (err: Error) => void = () => undefined;
  /** Rejects with a TimeoutError when the deadline passes. */
  readonly expired: Promise<never>;

  constructor(
    private readonly budgetMs: number,
    private readonly taskName: string,
    private readonly onExpire: (err: Error) => void,
  ) {
    this.expired = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    this.expired.catch(() => undefined);
  }

  /** Starts a fresh budget (at dispatch, and when a durable task resumes). */
  start() {
    this.startedAt = Date.now();
    this.at = this.startedAt + this.budgetMs;
    this.arm();
  }

  extend(byMs: number) {
    this.at += byMs;
    this.arm();
  }

  pause() {
    clearTimeout(this.timer);
  }

  private arm() {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        const err = new TimeoutError(
          `task '${this.taskName}' timed out after ${this.at - this.startedAt} ms (executionTimeout)`,
        );
        this.onExpire(err);
        this.reject(err);
      },
      Math.max(0, this.at - Date.now()),
    );
  }
}
