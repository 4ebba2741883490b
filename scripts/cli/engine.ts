/** `skein engine`: an engine until SIGINT/SIGTERM. */
import { hostname } from 'node:os';
import { pino } from 'pino';
import { startEngine } from 'skein/runtime';
import { SkeinError } from 'skein';
import { durationFlag, HELP_FLAG, parse, positionalsOf, UsageError, wholeNumber } from './args.js';
import { NATS_FLAGS, NATS_FLAGS_USAGE, natsOptionsOfFlags } from '../nats-flags.js';
import { untilSignal } from './signals.js';

const USAGE = `Usage: skein engine [options]

Runs a Skein engine against SKEIN_NATS_URL and SKEIN_NAMESPACE until SIGINT or SIGTERM,
then stops gracefully (finishes in-flight actor turns, releases its partitions).
Several engines may serve the same namespace; they share the work.

Options:
  --id <id>         this engine's name in the namespace (default: the host name). An engine
                    started with a dead engine's id takes its partitions over at once; two
                    live engines may not share an id (the second one refuses to start), so
                    give each engine on one host its own
  --http-port <n>   serve the dashboard, GET /metrics, /status and /healthz on port <n>
  --http-host <host>
                    the address to serve them on (default 127.0.0.1); any other needs a
                    dashboard token
  --dashboard-token <token>
                    a token of at least 16 characters every page, action and /metrics must
                    carry (default: env SKEIN_DASHBOARD_TOKEN); /healthz stays open
  --no-metrics      count nothing: GET /metrics answers 404
  --replicas <n>    stream and bucket replicas when creating them (3 on a 3-node cluster;
                    default 1; also env SKEIN_REPLICAS)
  --retention <duration>
                    how long a finished run is kept (its journal, logs and snapshot), unless
                    its task or workflow sets retention: '90s', '30m', '12h', '7d' or
                    milliseconds (default: env SKEIN_RETENTION, else 7d)
  --event-retention-days <n>
                    how long pushed events are kept (default 7)
  -h, --help        show this help

${NATS_FLAGS_USAGE}`;

const OPTIONS = {
  id: { type: 'string' },
  'http-port': { type: 'string' },
  'http-host': { type: 'string' },
  'dashboard-token': { type: 'string' },
  'no-metrics': { type: 'boolean' },
  replicas: { type: 'string' },
  'event-retention-days': { type: 'string' },
  retention: { type: 'string' },
  ...NATS_FLAGS,
  ...HELP_FLAG,
} as const;

export async function engineCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  positionalsOf(positionals, [], 'skein engine');
  const httpPort = wholeNumber(values['http-port'], '--http-port');
  const host = values['http-host'];
  const token = values['dashboard-token'];
  if (httpPort === undefined && (host !== undefined || token !== undefined))
    throw new UsageError('--http-host and --dashboard-token need --http-port');
  const replicas = wholeNumber(values.replicas ?? process.env.SKEIN_REPLICAS, '--replicas');
  if (replicas !== undefined && (replicas < 1 || replicas > 5))
    throw new UsageError(`--replicas must be 1 to 5, got ${replicas}`);
  const eventRetentionDays = wholeNumber(values['event-retention-days'], '--event-retention-days');
  if (eventRetentionDays === 0) throw new UsageError('--event-retention-days must be at least 1');
  const retention = durationFlag(values.retention, '--retention');

  const logger = pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'info' });
  let engine;
  try {
    engine = await startEngine({
      id: values.id ?? hostname(),
      nats: natsOptionsOfFlags(values),
      logger,
      http:
        httpPort === undefined
          ? undefined
          : {
              port: httpPort,
              ...(host !== undefined && { host }),
              ...(token !== undefined && { token }),
            },
      ...(values['no-metrics'] && { metrics: false }),
      replicas,
      eventRetentionDays,
      ...(retention !== undefined && { retention }),
    });
  } catch (err) {
    // NATS unreachable, JetStream off: one line saying what to fix, not a stack.
    if (err instanceof SkeinError) process.stderr.write(`skein: ${err.message}\n`);
    else logger.error({ err }, 'engine failed to start');
    return 1;
  }

  const signal = await untilSignal(() => {
    logger.warn('second signal while stopping: exiting now');
    process.exit(1);
  });
  logger.info({ signal: signal.name }, 'stopping engine');
  try {
    await engine.stop();
  } catch (err) {
    logger.error({ err }, 'engine did not stop cleanly');
    return 1;
  } finally {
    signal.release();
  }
  exitSoon(() => logger.warn('still running 5 s after the engine stopped: exiting'));
  return 0;
}

/** The process should now exit by itself; if some handle keeps it alive, do not hang a container's shutdown on it. */
export function exitSoon(warn: () => void) {
  setTimeout(() => {
    warn();
    process.exit(0);
  }, 5_000).unref();
}
