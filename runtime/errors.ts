/**
 * The errors the runtime and the SDK both throw at users (the SDK exports them with the rest of
 * its errors, in sdk/errors.ts): defined here, below both, so that each has one class.
 */

export class SkeinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** NATS could not be reached or answered badly; the call may be retried. */
export class ConnectionError extends SkeinError {}

/** Bad input or options: fix the call. Nothing was stored. */
export class ValidationError extends SkeinError {}
