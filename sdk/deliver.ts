/**
 * Sends messages to actors: straight to the engine serving the actor's partition, which
 * answers once each message's turn is stored; if no engine answers, into the durable inbox
 * instead. Either way a message is stored when its promise resolves, and its id makes a
 * repeat harmless. Messages sent in the same tick to one partition travel as one request.
 */
import { decode, encode } from '../runtime/codec.js';
import type { DirectMessage, DirectReply, Names } from '../runtime/protocol.js';
import type { Requester } from '../runtime/requester.js';
import { ValidationError } from './errors.js';

const DIRECT_TIMEOUT_MS = 5000;
const MAX_BATCH_BYTES = 256 * 1024;

type ActorMessage = { id: string; type: string } & Record<string, unknown>;

interface Queued {
  direct: DirectMessage;
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class Deliverer {
  private readonly batches = new Map<string, Queued[]>();
  private scheduled = false;

  constructor(
    private readonly requester: Requester,
    private readonly names: Names,
  ) {}

  deliver(type: string, actorId: string, message: ActorMessage): Promise<void> {
    const subject = this.names.directSubject(type, actorId);
    const direct: DirectMessage = { type, id: actorId, message };
    return new Promise<void>((resolve, reject) => {
      const batch = this.batches.get(subject) ?? [];
      batch.push({ direct, bytes: encode(message).length, resolve, reject });
      this.batches.set(subject, batch);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush() {
    this.scheduled = false;
    for (const [subject, queued] of this.batches) {
      let chunk: Queued[] = [];
      let size = 0;
      for (const q of queued) {
        if (chunk.length > 0 && size + q.bytes > MAX_BATCH_BYTES) {
          void this.send(subject, chunk);
          chunk = [];
          size = 0;
        }
        chunk.push(q);
        size += q.bytes;
      }
      if (chunk.length > 0) void this.send(subject, chunk);
    }
    this.batches.clear();
  }

  private async send(subject: string, chunk: Queued[]) {
    let replies: DirectReply[] | undefined;
    try {
      const reply = await this.requester.request(subject, encode(chunk.map((q) => q.direct)), DIRECT_TIMEOUT_MS);
      replies = decode<DirectReply[]>(reply.data);
    } catch {
      replies = undefined; // no engine answered: every message goes to the inbox
    }
    await Promise.all(
      chunk.map(async (q, i) => {
        const answer = replies?.[i];
        try {
          if (answer?.ok) return q.resolve();
          if (answer && !answer.ok && answer.invalid) {
            throw new ValidationError(`the engine refused ${q.direct.message && (q.direct.message as ActorMessage).type}: ${answer.error}`);
          }
          const message = q.direct.message as ActorMessage;
          await this.requester.publish(this.names.inboxSubject(q.direct.type, q.direct.id), encode(message), { msgID: message.id });
          q.resolve();
        } catch (err) {
          q.reject(err);
        }
      }),
    );
  }
}
