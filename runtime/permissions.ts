/**
 * NATS permission refusals as ConnectionErrors that name the permission and the subject. The
 * server refuses a publish asynchronously (`-ERR 'Permissions Violation for Publish to "x"'`),
 * so a request waiting for its reply would otherwise hang until its timeout.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectionError } from './errors.js';

interface Violation {
  operation: string;
  subject: string;
}

const isViolation = (e: unknown): e is Error & Violation =>
  e instanceof Error && e.name === 'PermissionViolationError' && 'subject' in e;

export function refusedError(operation: string, subject: string): ConnectionError {
  const what = operation === 'subscription' ? 'subscribe to' : 'publish to';
  return new ConnectionError(
    `NATS refused to let this client ${what} '${subject}' (Permissions Violation): ` +
      `allow it in this user's NATS permissions (docs/API.md, "Security")`,
  );
}

/** The ConnectionError for `err` when it is, or was caused by, a permission refusal. */
export function refusal(err: unknown): ConnectionError | undefined {
  const v = isViolation(err)
    ? err
    : isViolation((err as Error)?.cause)
      ? (err as Error).cause
      : undefined;
  return isViolation(v) ? refusedError(v.operation, v.subject) : undefined;
}

/** Calls `onRefused` with each publish the server refuses this connection, until it closes. */
export function watchRefusals(nc: NatsConnection, onRefused: (subject: string) => void): void {
  void (async () => {
    for await (const s of nc.status())
      if (s.type === 'error' && isViolation(s.error) && s.error.operation === 'publish')
        onRefused(s.error.subject);
  })().catch(() => undefined);
}
