/**
 * The `skein` command. bin/skein.js calls main(): this file through tsx in a clone of the
 * repository, its build (dist/cli.js) in an installed package.
 *
 *   skein engine [--id ID] [--http-port N] [--replicas N]   run an engine until SIGINT/SIGTERM
 *   skein demo                                    the demo (same as npm run demo)
 *   skein events push <key> <json> [options]      push an event
 *   skein --help
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startEngine } from 'skein/runtime';
import { NATS_FLAGS, NATS_FLAGS_USAGE, natsOptionsOfFlags } from './nats-flags.js';

const USAGE = `Usage: skein <command> [options]

Commands:
  engine    Run a Skein engine until SIGINT/SIGTERM.
  demo      Run the demo: an engine and a worker in-process, the hello and retry examples.
  events    Push an event: skein events push <key> <json>.
  help      Show this help (also: skein --help, skein <command> --help).

Environment:
  SKEIN_NATS_URL    NATS server URL(s), comma-separated (default nats://127.0.0.1:4222)
  SKEIN_NAMESPACE   namespace: isolates streams, buckets and subjects (default 'skein')
  SKEIN_LOG_LEVEL   pino level: trace, debug, info, warn, error (engine default 'info')
  SKEIN_NATS_USER, SKEIN_NATS_PASS, SKEIN_NATS_TOKEN, SKEIN_NATS_NKEY, SKEIN_NATS_CREDS,
  SKEIN_NATS_TLS_CA, SKEIN_NATS_TLS_CERT, SKEIN_NATS_TLS_KEY
                    NATS credentials and TLS files (see 'skein engine --help')
`;

const ENGINE_USAGE = `Usage: skein engine [options]

Runs a Skein engine against SKEIN_NATS_URL and SKEIN_NAMESPACE until SIGINT or SIGTERM,
then stops gracefully (finishes in-flight actor turns, releases its partitions).
Several engines may serve the same namespace; they share the work.

Options:
  --id <id>         this engine's name in the namespace (default: the host name). An engine
                    started with a dead engine's id takes its partitions over at once; two
                    live engines may not share an id (the second one refuses to start), so
                    give each engine on one host its own
  --http-port <n>   serve GET /healthz and GET /status on 127.0.0.1:<n>
  --replicas <n>    stream and bucket replicas when creating them (3 on a 3-node cluster;
                    default 1; also env SKEIN_REPLICAS)
  --event-retention-days <n>
                    how long pushed events are kept (default 7)
  -h, --help        show this help

${NATS_FLAGS_USAGE}`;

const DEMO_USAGE = `Usage: skein demo

Starts an engine and a worker in this process, runs the hello and retry examples and
prints the retry run's history and logs. NATS: SKEIN_NATS_URL, else 127.0.0.1:4222 if
something listens there, else a nats-server child process (SKEIN_DEMO_START_NATS=1 forces it).
`;

const EVENTS_USAGE = `Usage: skein events push <key> <json> [options]

Pushes an event to SKEIN_NATS_URL / SKEIN_NAMESPACE and prints its id once it is stored.
Every task and workflow whose onEvents match <key> gets a run with <json> as its input.

Options:
  --metadata <k=v>   additional metadata (repeatable)
  --scope <scope>    the event's scope (only waits with this scope, or none, see it)
  --priority <n>     1, 2 or 3 for the runs it triggers
  --id <eventId>     the event's id (pushing an id again triggers nothing new)
  -h, --help         show this help

${NATS_FLAGS_USAGE}`;

class UsageError extends Error {}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        process.stderr.write(USAGE);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return 0;
      case 'engine':
        return await engineCommand(rest);
      case 'demo':
        return await demoCommand(rest);
      case 'events':
        return await eventsCommand(rest);
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      process.stderr.write(
        `skein: ${(err as Error).message}\nRun 'skein --help' for the commands.\n`,
      );
      return 2;
    }
    throw err;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function wholeNumber(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${what} must be a whole number, got '${value}'`);
  return n;
}

async function engineCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      id: { type: 'string' },
      'http-port': { type: 'string' },
      replicas: { type: 'string' },
      'event-retention-days': { type: 'string' },
      ...NATS_FLAGS,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(ENGINE_USAGE);
    return 0;
  }
  const httpPort = wholeNumber(values['http-port'], '--http-port');
  const replicas = wholeNumber(values.replicas ?? process.env.SKEIN_REPLICAS, '--replicas');
  if (replicas !== undefined && (replicas < 1 || replicas > 5))
    throw new UsageError(`--replicas must be 1 to 5, got ${replicas}`);
  const eventRetentionDays = wholeNumber(values['event-retention-days'], '--event-retention-days');
  if (eventRetentionDays === 0) throw new UsageError('--event-retention-days must be at least 1');

  const logger = pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'info' });
  let engine;
  try {
    engine = await startEngine({
      id: values.id ?? hostname(),
      nats: natsOptionsOfFlags(values),
      logger,
      http: httpPort === undefined ? undefined : { port: httpPort },
      replicas,
      eventRetentionDays,
    });
  } catch (err) {
    // NATS unreachable, JetStream off: one line saying what to fix, not a stack.
    const { SkeinError } = await import('skein');
    if (err instanceof SkeinError) process.stderr.write(`skein: ${err.message}\n`);
    else logger.error({ err }, 'engine failed to start');
    return 1;
  }

  // Stop on the first SIGINT/SIGTERM; a second one while stopping exits at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve(s);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const force = (s: NodeJS.Signals) => {
    logger.warn({ signal: s }, 'second signal while stopping: exiting now');
    process.exit(1);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  logger.info({ signal }, 'stopping engine');
  try {
    await engine.stop();
  } catch (err) {
    logger.error({ err }, 'engine did not stop cleanly');
    return 1;
  } finally {
    process.removeListener('SIGINT', force);
    process.removeListener('SIGTERM', force);
  }
  // The process should now exit by itself; if some handle keeps it alive, do not hang a
  // container's shutdown on it.
  setTimeout(() => {
    logger.warn('still running 5 s after the engine stopped: exiting');
    process.exit(0);
  }, 5_000).unref();
  return 0;
}

async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  // The demo and its examples are not in the published package (see rolldown.config.js).
  const demo = await import('./demo.js').catch((err: unknown) => {
    const { code, url } = (err ?? {}) as { code?: unknown; url?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND' && String(url).endsWith('/demo.js')) return undefined;
    throw err;
  });
  if (!demo) {
    process.stderr.write(
      "skein: the demo runs from a clone of the Skein repository ('npm run demo'); the installed package does not include it.\n",
    );
    return 1;
  }
  return demo.runDemo();
}

async function eventsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      metadata: { type: 'string', multiple: true },
      scope: { type: 'string' },
      priority: { type: 'string' },
      id: { type: 'string' },
      ...NATS_FLAGS,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(EVENTS_USAGE);
    return 0;
  }
  const [sub, key, json, ...extra] = positionals;
  if (sub !== 'push') throw new UsageError(`unknown events command '${sub ?? ''}': use 'push'`);
  if (key === undefined || json === undefined || extra.length > 0)
    throw new UsageError('events push takes a key and a JSON payload');
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`the payload is not JSON: ${(err as Error).message}`);
  }
  const additionalMetadata: Record<string, string> = {};
  for (const pair of values.metadata ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--metadata takes key=value, got '${pair}'`);
    additionalMetadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const priority = values.priority === undefined ? undefined : Number(values.priority);
  const { Skein, SkeinError } = await import('skein');
  let skein;
  try {
    skein = Skein.init({
      nats: natsOptionsOfFlags(values),
      logger: pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'warn' }),
    });
  } catch (err) {
    if (!(err instanceof SkeinError)) throw err;
    process.stderr.write(`skein: ${err.message}\n`);
    return 1;
  }
  try {
    const { eventId } = await skein.events.push(key, payload, {
      additionalMetadata,
      scope: values.scope,
      priority,
      eventId: values.id,
    });
    process.stdout.write(`${JSON.stringify({ eventId })}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof SkeinError)) throw err;
    process.stderr.write(`skein: ${err.message}\n`);
    return 1;
  } finally {
    await skein.close();
  }
}
