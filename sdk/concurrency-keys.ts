/** `skein.concurrency`: the concurrency limits' keys, with the runs that hold or wait for their slots. */
import type { ConcurrencyKeyView } from '../runtime/protocol-api.js';
import type { SdkConnection } from './connection.js';

/** One key of a concurrency limit (a group): its slots' holders and waiters. */
export type ConcurrencyKeyInfo = ConcurrencyKeyView;

export class ConcurrencyClient {
  /** @internal Built by the Skein client; left out of the published declarations. */
  constructor(private readonly conn: SdkConnection) {}

  /** Every key a concurrency limit has seen, by group (the workflow, or `workflow/task`) and key. */
  async list(): Promise<ConcurrencyKeyInfo[]> {
    return this.conn.api('concurrency.list', {});
  }
}
