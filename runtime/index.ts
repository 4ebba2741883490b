import { startEngine as start, type Engine, type EngineOptions } from './engine.js';
import { refusal } from './permissions.js';

export type { Engine, EngineOptions };

/** Starts an engine; NATS refusing it a subject it needs rejects with a ConnectionError naming it. */
export function startEngine(opts?: EngineOptions): Promise<Engine> {
  return start(opts).catch((err: unknown) => {
    throw refusal(err) ?? err;
  });
}
export type { NatsOptions, NatsTlsOptions } from './nats-options.js';
