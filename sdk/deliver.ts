/**
 * Sends messages to actors: straight to the engine serving the actor's partition, which
 * answers once each message's turn is stored; if no engine answers, into the durable inbox
 * instead. Either way a message is stored when its promise resolves, and its id makes a
 * repeat harmless. Messages to one partition travel in batches, a few batches at a time.
 */
import { decode, encode } from '../runtime/codec.js';
import type { DirectMessage, DirectReply, Names } from '../runtime/protocol.js';
import type { Requester } from '../runtime/requester.js';
import { ValidationError } from './errors.js';

const DIRECT_TIMEOUT_MS = 10_000;
const MAX_BATCH_BYTES = 256 * 1024;
const MAX_BATCH_MESSAGES = 256;
const MAX_IN_FLIGHT = 4;

type ActorMessage = { id: string; type: string } & Record<string, unknown>;

/** How a message was stored: its turn taken by the engine serving its actor, or left in the inbox. */
export type Delivery = 'turned' | 'inbox';

interface Queued {
  direct: DirectMessage;
  bytes: number;
  resolve(how: Delivery): void;
  reject(err: unknown): void;
}

export class Deliverer {
  private readonly queues = new Map<string, { waiting: Queued[]; inFlight: number }>();

  constructor(
    private readonly requester: Requester,
    private readonly names: Names,
  ) {}

  deliver(type: string, actorId: string, message: ActorMessage, bytes: number): Promise<Delivery> {
    const subject = this.names.directSubject(type, actorId);
    const direct: DirectMessage = { type, id: actorId, message };
    return new Promise<Delivery>((resolve, reject) => {
      let queue = this.queues.get(subject);
      if (!queue) this.queues.set(subject, (queue = { waiting: [], inFlight: 0 }));
      queue.waiting.push({ direct, bytes, resolve, reject });
      // Wait a tick so that messages sent together travel together.
      if (queue.waiting.length === 1) setImmediate(() => this.pump(subject));
    });
  }

  /** Sends what waits for `subject`, a bounded number of requests at a time (backpressure). */
  private pump(subject: string) {
    const queue = this.queues.get(subject);
    if (!queue) return;
    while (queue.inFlight < MAX_IN_FLIGHT && queue.waiting.length > 0) {
      let size = 0;
      let n = 0;
      while (
        n < queue.waiting.length &&
        n < MAX_BATCH_MESSAGES &&
        (n === 0 || size + queue.waiting[n].bytes <= MAX_BATCH_BYTES)
      ) {
        size += queue.waiting[n].bytes;
        n++;
      }
      const chunk = queue.waiting.splice(0, n);
      queue.inFlight++;
      void this.send(subject, chunk).finally(() => {
        queue.inFlight--;
        this.pump(subject);
      });
    }
  }

  private async send(subject: string, chunk: Queued[]) {
    let replies: DirectReply[] | undefined;
    try {
      const reply = await this.requester.request(
        subject,
        encode(chunk.map((q) => q.direct)),
        DIRECT_TIMEOUT_MS,
      );
      replies = decode<DirectReply[]>(reply.data);
    } catch {
      replies = undefined; // no engine answered: every message goes to the inbox
    }
    await Promise.all(
      chunk.map(async (q, i) => {
        const answer = replies?.[i];
        try {
          if (answer?.ok) return q.resolve('turned');
          if (answer && !answer.ok && answer.invalid) {
            throw new ValidationError(
              `the engine refused ${q.direct.message && (q.direct.message as ActorMessage).type}: ${answer.error}`,
            );
          }
          const message = q.direct.message as ActorMessage;
          await this.requester.publish(
            this.names.inboxSubject(q.direct.type, q.direct.id),
            encode(message),
            { msgID: message.id },
          );
          q.resolve('inbox');
        } catch (err) {
          q.reject(err);
        }
      }),
    );
  }
}
