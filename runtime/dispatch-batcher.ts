/**
 * Sends dispatched task runs to workers: those of one tick go to each worker together, in
 * messages under the server's max_payload. Core NATS, no reply awaited: a worker that
 * refuses says so, and a dispatch lost on the way is found by the next heartbeats.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { QueuedTask } from '../actors/scheduler/queued-task.js';
import { encode } from './codec.js';
import { publishToWorker } from './dispatch-signature.js';
import type { Names } from './protocol.js';

export class DispatchBatcher {
  private readonly pending = new Map<string, QueuedTask[]>();
  private scheduled = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: Names,
    /** Signs each dispatch when set (see dispatch-signature.ts). */
    private readonly dispatchKey?: string,
  ) {}

  add(workerId: string, task: QueuedTask) {
    const batch = this.pending.get(workerId);
    if (batch) batch.push(task);
    else this.pending.set(workerId, [task]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush() {
    this.scheduled = false;
    const max = (this.nc.info?.max_payload ?? 1024 * 1024) - 4096;
    for (const [workerId, tasks] of this.pending) {
      const whole = encode(tasks);
      const messages =
        whole.length <= max ? [whole] : chunksUnder(tasks, max).map((chunk) => encode(chunk));
      for (const data of messages) {
        try {
          publishToWorker(this.nc, this.dispatchKey, this.names.workerDispatch(workerId), data);
        } catch {
          // Closed or draining (this runs on its own tick, where a throw would end the process):
          // a dispatch lost on the way is found by the next heartbeats.
        }
      }
    }
    this.pending.clear();
  }
}

/** Splits task runs into groups whose encoded size stays under `maxBytes` (a lone big one goes alone). */
function chunksUnder(tasks: QueuedTask[], maxBytes: number): QueuedTask[][] {
  const chunks: QueuedTask[][] = [];
  let chunk: QueuedTask[] = [];
  let size = 0;
  for (const task of tasks) {
    const bytes = encode(task).length;
    if (chunk.length > 0 && size + bytes > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(task);
    size += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
