/**
 * The wire contract between the SDK and the engine, by topic: where things live on the bus
 * (subjects.ts), specs (protocol-specs.ts), messages entering the engine
 * (protocol-messages.ts), what workers store (protocol-workers.ts), trace contexts
 * (protocol-trace.ts) and the query API (protocol-api.ts). Both sides import these modules; nothing else is shared between them.
 */
export {
  DEFAULT_NAMESPACE,
  DEFAULT_NATS_URL,
  PARTITIONS,
  names,
  partitionOf,
  subjectToken,
  validateNamespace,
  type Names,
} from './subjects.js';
export * from './protocol-specs.js';
export * from './protocol-messages.js';
export * from './protocol-workers.js';
export * from './protocol-trace.js';
