/**
 * The `skein` command. bin/skein.js calls main(): this file through tsx in a clone of the
 * repository, its build (dist/cli.js) in an installed package. Each command lives in
 * scripts/cli/ and is loaded only when asked for.
 */
import { isParseArgsError, UsageError } from './cli/args.js';

interface Command {
  summary: string;
  load(): Promise<(args: string[]) => Promise<number>>;
}

const COMMANDS: Record<string, Command> = {
  dev: {
    summary: 'NATS, an engine and its dashboard for local work, until Ctrl-C',
    load: async () => (await import('./cli/dev.js')).devCommand,
  },
  engine: {
    summary: 'run a Skein engine until SIGINT/SIGTERM',
    load: async () => (await import('./cli/engine.js')).engineCommand,
  },
  runs: {
    summary: 'list, get, history, logs, watch, cancel, replay',
    load: async () => (await import('./cli/runs.js')).runsCommand,
  },
  workers: {
    summary: 'list',
    load: async () => (await import('./cli/workers.js')).workersCommand,
  },
  crons: {
    summary: 'list, delete',
    load: async () => (await import('./cli/crons.js')).cronsCommand,
  },
  schedules: {
    summary: 'list, delete',
    load: async () => (await import('./cli/schedules.js')).schedulesCommand,
  },
  events: {
    summary: 'list, push',
    load: async () => (await import('./cli/events.js')).eventsCommand,
  },
  'rate-limits': {
    summary: 'list, upsert',
    load: async () => (await import('./cli/rate-limits.js')).rateLimitsCommand,
  },
  demo: {
    summary: 'the demo: an engine and a worker in-process, the examples (from a clone)',
    load: async () => (await import('./cli/demo.js')).demoCommand,
  },
};

const USAGE = `Usage: skein <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`)
  .join('\n')}
  help        show this help (also: skein --help; skein <command> --help for each command)

Output: tables for people (colour on a terminal, unless NO_COLOR is set); --json prints the
result as JSON for scripts. Exit codes: 0 done, 1 the operation failed (a run failed, not
found, NATS refused), 2 a wrong command line.

Environment:
  SKEIN_NATS_URL    NATS server URL(s), comma-separated (default nats://127.0.0.1:4222)
  SKEIN_NAMESPACE   namespace: isolates streams, buckets and subjects (default 'skein')
  SKEIN_LOG_LEVEL   pino level: trace, debug, info, warn, error (engine default 'info')
  SKEIN_RETENTION   how long the engine keeps finished runs (default 7d; see 'skein engine --help')
  SKEIN_NATS_USER, SKEIN_NATS_PASS, SKEIN_NATS_TOKEN, SKEIN_NATS_NKEY, SKEIN_NATS_CREDS,
  SKEIN_NATS_TLS_CA, SKEIN_NATS_TLS_CERT, SKEIN_NATS_TLS_KEY
                    NATS credentials and TLS files; each has a flag (--nats-url, --namespace,
                    --nats-user, …: see any command's --help)
`;

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (name === undefined) {
      process.stderr.write(USAGE);
      return 2;
    }
    if (name === '-h' || name === '--help' || name === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (!command) throw new UsageError(`unknown command '${name}'`);
    const run = await command.load();
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      const about = (err instanceof UsageError && err.command) || (command ? name : undefined);
      process.stderr.write(
        `skein: ${(err as Error).message}\nRun 'skein${about ? ` ${about}` : ''} --help' for ${about ? 'its options' : 'the commands'}.\n`,
      );
      return 2;
    }
    throw err;
  }
}
