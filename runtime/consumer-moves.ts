/**
 * Tells when one of the namespace's consumers got a new leader server (a node of the NATS
 * cluster died or stepped down). A pull request sent to the old leader is lost with it: the
 * engine then has the part that reads the consumer pull again (KeepRunning.moved) rather than
 * wait for missed heartbeats. A single server never sends these advisories.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { Names } from './protocol.js';

const ADVISORY = '$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED';

export function watchConsumerMoves(
  nc: NatsConnection,
  n: Names,
  logger: Logger,
  moved: (consumer: string) => void,
): Subscription[] {
  return Object.values(n.streams).map((stream) =>
    nc.subscribe(`${ADVISORY}.${stream}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const consumer = msg.subject.slice(ADVISORY.length + stream.length + 2);
        logger.info({ stream, consumer }, 'consumer moved to another server');
        moved(consumer);
      },
    }),
  );
}
