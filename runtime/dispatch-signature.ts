/**
 * Signed dispatches. Whoever may publish on a worker's dispatch subject can make it run a
 * task; with a shared key (`SKEIN_DISPATCH_KEY`, or the `dispatchKey` option of engines and
 * clients) the engine signs what it sends to workers (dispatches and cancels) with an HMAC,
 * and workers drop anything unsigned or signed with another key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';

const SIGNATURE_HEADER = 'Skein-Signature';

/** The key given as an option, else the environment's, else none (no signing). */
export function dispatchKeyOf(option: string | undefined): string | undefined {
  const key = option ?? process.env.SKEIN_DISPATCH_KEY;
  return key ? key : undefined;
}

function signature(key: string, subject: string, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(subject).update('\u0000').update(data).digest();
}

/** Publishes `data` to a worker, signed when there is a key. */
export function publishToWorker(
  nc: NatsConnection,
  key: string | undefined,
  subject: string,
  data: Uint8Array,
) {
  if (!key) return nc.publish(subject, data);
  const h = headers();
  h.set(SIGNATURE_HEADER, signature(key, subject, data).toString('base64'));
  nc.publish(subject, data, { headers: h });
}

/** True when the message carries a valid signature of its subject and data by `key`. */
export function signedBy(
  key: string,
  msg: { subject: string; data: Uint8Array; headers?: MsgHdrs },
): boolean {
  const given = msg.headers?.get(SIGNATURE_HEADER);
  if (!given) return false;
  const expected = signature(key, msg.subject, msg.data);
  const actual = Buffer.from(given, 'base64');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
