/** Running a command against a namespace with an SDK client, and how its failures end. */
import { pino } from 'pino';
import { Skein, SkeinError } from 'skein';
import { natsOptionsOfFlags } from '../nats-flags.js';
import type { CONNECTION_FLAGS } from './args.js';

export type ConnectionValues = { [K in keyof typeof CONNECTION_FLAGS]?: string };

export function natsUrlOf(values: ConnectionValues): string[] | undefined {
  return values['nats-url']?.split(',').map((u) => u.trim());
}

/** The client the flags and environment describe; it logs warnings to stderr, never stdout. */
export function clientOf(values: ConnectionValues): Skein {
  return Skein.init({
    natsUrl: natsUrlOf(values),
    namespace: values.namespace,
    nats: natsOptionsOfFlags(values),
    logger: pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  });
}

/** Prints a Skein error's message (not a stack) and exits 1. */
export function failed(err: unknown): number {
  if (!(err instanceof SkeinError)) throw err;
  process.stderr.write(`skein: ${err.message}\n`);
  return 1;
}

/** Runs `fn` with a client, then closes it; a SkeinError (not found, refused, no NATS) exits 1. */
export async function withSkein(
  values: ConnectionValues,
  fn: (skein: Skein) => Promise<number>,
): Promise<number> {
  let skein: Skein;
  try {
    skein = clientOf(values);
  } catch (err) {
    return failed(err);
  }
  try {
    return await fn(skein);
  } catch (err) {
    return failed(err);
  } finally {
    await skein.close();
  }
}
