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
import {
  FORWARDED_API_OPS,
  type ApiOp,
  type ApiReply,
  type ApiRequest,
  type ApiResponse,
} from '../runtime/protocol-api.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, Payloads } from '../runtime/payloads.js';

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
  /** Large values stored as objects, and read back. */
  payloads: Payloads;
}

const API_TIMEOUT_MS = 10_000;
const NO_ENGINE_RETRY_MS = 200;

export class SdkConnection {
  private connecting?: Promise<Connected>;

  constructor(
    readonly names: Names,
    private readonly natsUrl: string | string[] | undefined,
    private readonly options: NatsOptions | undefined,
    /** Workers run only dispatches signed with it, when set (see runtime/dispatch-signature.ts). */
    readonly dispatchKey?: string,
    readonly maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES,
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
    const js = jetstream(nc);
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    return {
      nc,
      requester,
      deliverer: new Deliverer(requester, this.names),
      js,
      jsm,
      registry,
      workers,
      maxPayload,
      payloads: new Payloads(js, this.names, this.maxPayloadBytes, maxPayload),
    };
  }

  /** Calls the engine's query API; values stored as objects come back read. */
  async api<Op extends ApiOp>(op: Op, request: ApiRequest<Op>): Promise<ApiResponse<Op>> {
    const answer = await this.rawApi(op, request);
    return (await this.ready()).payloads.resolve(answer);
  }

  /** Its errors come back as the SDK's typed errors. */
  private async rawApi<Op extends ApiOp>(
    op: Op,
    request: ApiRequest<Op>,
  ): Promise<ApiResponse<Op>> {
    const { nc } = await this.ready();
    let reply;
    const deadline = Date.now() + API_TIMEOUT_MS;
    // Run-index and scheduler queries are answered by the leader (through any engine): wait out a moment with no engine.
    const patient = (FORWARDED_API_OPS as readonly string[]).includes(op);
    try {
      for (;;) {
        try {
          reply = await nc.request(this.names.api(op), encode(request), {
            timeout: Math.max(100, deadline - Date.now()),
          });
          break;
        } catch (err) {
          const noEngine = err instanceof Error && /no responders/i.test(err.message);
          if (!patient || !noEngine || deadline - Date.now() < NO_ENGINE_RETRY_MS) throw err;
          await new Promise((r) => setTimeout(r, NO_ENGINE_RETRY_MS));
        }
      }
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
