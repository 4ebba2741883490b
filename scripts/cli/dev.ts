/** `skein dev`: NATS (found or started), an engine and its dashboard for local work, until Ctrl-C. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SkeinError } from 'skein';
import { startEngine, type Engine } from 'skein/runtime';
import { natsOptionsOfFlags } from '../nats-flags.js';
import { canListen, findLocalNats, freePort, NatsServerNotFound, type DemoNats } from '../nats.js';
import {
  CONNECTION_FLAGS,
  CONNECTION_USAGE,
  HELP_FLAG,
  parse,
  positionalsOf,
  UsageError,
  wholeNumber,
} from './args.js';
import { natsUrlOf } from './client.js';
import { exitSoon } from './engine.js';
import { out } from './output.js';
import { untilSignal } from './signals.js';

const USAGE = `Usage: skein dev [--port n] [--start-nats] [options]

One command for local work: an engine serving the namespace, with its HTTP server (the
dashboard, /healthz, /status) on 127.0.0.1, and the URL to open. NATS: --nats-url or
SKEIN_NATS_URL, else a NATS answering on 127.0.0.1:4222, else a 'nats-server -js' it starts
itself (its store in .skein/nats under the current directory). Ctrl-C stops all of it,
the nats-server it started included. Engine logs (warnings and errors unless SKEIN_LOG_LEVEL
says otherwise) go to stderr.

Options:
  --port <n>               the HTTP port (default: a free one); --http-port, as on
                           'skein engine', says the same
  --start-nats             start a nats-server even when one answers on 127.0.0.1:4222
  --id <id>                the engine's id (default: dev-<host name>)
  -h, --help               show this help

${CONNECTION_USAGE}`;

const OPTIONS = {
  port: { type: 'string' },
  'http-port': { type: 'string' },
  'start-nats': { type: 'boolean' },
  id: { type: 'string' },
  ...CONNECTION_FLAGS,
  ...HELP_FLAG,
} as const;

export async function devCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  positionalsOf(positionals, [], 'skein dev');
  if (values.port !== undefined && values['http-port'] !== undefined)
    throw new UsageError('give the HTTP port once: --port or --http-port');
  const port =
    wholeNumber(values.port, '--port', 1) ?? wholeNumber(values['http-port'], '--http-port', 1);
  const natsOptions = natsOptionsOfFlags(values);
  const flagUrl = natsUrlOf(values)?.join(',');
  const envUrl = values['start-nats'] ? undefined : process.env.SKEIN_NATS_URL;
  const given = flagUrl
    ? { url: flagUrl, description: 'from --nats-url' }
    : envUrl
      ? { url: envUrl, description: 'from SKEIN_NATS_URL' }
      : undefined;

  let nats: DemoNats;
  try {
    nats = await findLocalNats({
      given,
      storeDir: join(process.cwd(), '.skein', 'nats'),
      forceStart: values['start-nats'] === true,
    });
  } catch (err) {
    if (!(err instanceof NatsServerNotFound)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const logger = pino({ level: process.env.SKEIN_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  // Checked first: an engine whose HTTP server cannot listen has already started the rest.
  const httpPort = port ?? (await freePort());
  if (!(await canListen(httpPort))) {
    await nats.stop();
    process.stderr.write(
      `skein: port ${httpPort} on 127.0.0.1 is in use: pick another with --port\n`,
    );
    return 1;
  }
  let engine: Engine;
  try {
    engine = await startEngine({
      id: values.id ?? `dev-${hostname()}`,
      natsUrl: nats.url.split(','),
      namespace: values.namespace,
      nats: natsOptions,
      logger,
      http: { port: httpPort },
    });
  } catch (err) {
    await nats.stop();
    if (!(err instanceof SkeinError)) throw err;
    process.stderr.write(`skein: ${err.message}\n`);
    return 1;
  }
  out(
    [
      'Skein dev',
      `  NATS        ${nats.url}  (${nats.description})`,
      `  namespace   ${engine.namespace}`,
      `  engine      ${engine.id}`,
      `  dashboard   http://127.0.0.1:${httpPort}/`,
      '',
      'Ctrl-C stops it all.',
      '',
    ].join('\n'),
  );

  const signal = await untilSignal(() => process.exit(1));
  out(`\nstopping (${signal.name})\n`);
  try {
    await engine.stop();
  } finally {
    await nats.stop();
    signal.release();
  }
  out(`stopped the engine${nats.description.startsWith('started') ? ' and nats-server' : ''}\n`);
  exitSoon(() => logger.warn('still running 5 s after the engine stopped: exiting'));
  return 0;
}
