/** Answering requests from the bus: a reply never exceeds the server's max_payload, and never throws. */
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import { encode } from './codec.js';
import { rejected } from './rejections.js';

/** Room kept under max_payload for the reply's subject and headers. */
const HEADROOM = 1024;

/** The most a reply's body may take. */
export function maxReplyBytes(nc: NatsConnection): number {
  return (nc.info?.max_payload ?? 1024 * 1024) - HEADROOM;
}

/**
 * Sends `body` as the reply to `msg` (when it has a reply subject). A body over max_payload
 * is replaced by what `tooBig(bytes, max)` returns, a short refusal the asker can act on.
 */
export function reply(
  nc: NatsConnection,
  msg: Msg,
  body: unknown,
  tooBig: (bytes: number, max: number) => unknown,
  logger: Logger,
) {
  if (!msg.reply) return;
  const max = maxReplyBytes(nc);
  let data = encode(body);
  if (data.length > max) data = encode(tooBig(data.length, max));
  try {
    msg.respond(data);
  } catch (err) {
    rejected(logger, 'reply-failed', err);
  }
}
