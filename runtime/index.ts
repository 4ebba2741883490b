export { startEngine, type Engine, type EngineOptions } from './engine.js';
export type { NatsOptions, NatsTlsOptions } from './nats-options.js';
