/** `skein demo`: the demo of scripts/demo.ts (from a clone of the repository only). */
import { HELP_FLAG, parse, positionalsOf } from './args.js';

const USAGE = `Usage: skein demo

Starts an engine and a worker in this process, runs the hello and retry examples and
prints the retry run's history and logs. NATS: SKEIN_NATS_URL, else 127.0.0.1:4222 if
something listens there, else a nats-server child process (SKEIN_DEMO_START_NATS=1 forces it).
`;

export async function demoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, HELP_FLAG);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  positionalsOf(positionals, [], 'skein demo');
  // The demo and its examples are not in the published package (see rolldown.config.js).
  const demo = await import('../demo.js').catch((err: unknown) => {
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
