/** The SDK's lazy connection to NATS and the namespace's streams and buckets. */
import { jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import type { NatsOptions } from '../runtime/nats-options.js';
import { connectNats, openJetStream } from '../runtime/connection.js';
import { Requester } from '../runtime/requester.js';
import { refusal } from '../runtime/permissions.js';
import { Deliverer } from './deliver.js';
import { decode, encode } from '../runtime/codec.js';
import type { Names } from '../runtime/protocol.js';
import { ConnectionError, NotFoundError, SkeinError, ValidationError } from './errors.js';
import type { ApiOp, ApiReply, ApiRequest, ApiResponse } from '../runtime/protocol-api.js';

export interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  registry: KV;
  workers: KV;
  requester: Requester;
  deliverer: Deliverer;
  /** The server's max_payload. */
  maxPayload: number;
}

const API_TIMEOUT_MS = 10_000;

export class SdkConnection {
  private connecting?: Promise<Connected>;

  constructor(
    readonly names: Names,
    private readonly natsUrl: string | string[] | undefined,
    private readonly options: NatsOptions | undefined,
    /** Workers run only dispatches signed with it, when set (see runtime/dispatch-signature.ts). */
    readonly dispatchKey?: string,
  ) {}

  ready(): Promise<Connected> {
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err instanceof SkeinError
        ? err
        : new ConnectionError(err instanceof Error ? err.message : String(err));
    });
    return this.connecting;
  }

  private async open(): Promise<Connected> {
    const nc = await connectNats(this.natsUrl, this.options, 'skein-client');
    const jsm = await openJetStream(nc);
    const kvm = new Kvm(nc);
    let registry: KV;
    let workers: KV;
    try {
      registry = await kvm.open(this.names.buckets.registry);
      workers = await kvm.open(this.names.buckets.workers);
      await registry.status();
    } catch (err) {
      await nc.close();
      const refused = refusal(err);
      if (refused) throw refused;
      throw new ConnectionError(
        `namespace '${this.names.ns}' is not set up on this NATS: start a Skein engine (startEngine or 'npx skein engine') first`,
      );
    }
    const requester = new Requester(nc);
    return {
      nc,
      requester,
      deliverer: new Deliverer(requester, this.names),
      js: jetstream(nc),
      jsm,
      registry,
      workers,
      maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    };
  }

  /** Calls the engine's query API; its errors come back as the SDK's typed errors. */
  async api<Op extends ApiOp>(op: Op, request: ApiRequest<Op>): Promise<ApiResponse<Op>> {
    const { nc } = await this.ready();
    let reply;
    try {
      reply = await nc.request(this.names.api(op), encode(request), { timeout: API_TIMEOUT_MS });
    } catch (err) {
      throw (
        refusal(err) ??
        new ConnectionError(
          `no Skein engine answered '${op}' in namespace '${this.names.ns}': ${String(err)}`,
        )
      );
    }
    let body: ApiReply<Op>;
    try {
      body = decode(reply.data);
    } catch (err) {
      throw new ConnectionError(`a malformed answer to '${op}': ${String(err)}`);
    }
    if (body?.error) {
      if (body.error.name === 'NotFoundError') throw new NotFoundError(body.error.message);
      if (body.error.name === 'ValidationError') throw new ValidationError(body.error.message);
      throw new SkeinError(body.error.message);
    }
    return body.ok as ApiResponse<Op>;
  }

  async close() {
    const c = await this.connecting?.catch(() => undefined);
    this.connecting = undefined;
    c?.requester.close();
    await c?.nc.drain().catch(() => undefined);
  }
}
