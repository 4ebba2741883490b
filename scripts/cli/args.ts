/** Parsing the command line: strict flags, usage errors (exit 2), the flags every command takes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { retentionMs } from '../../runtime/duration.js';
import { NATS_FLAGS, NATS_FLAGS_USAGE } from '../nats-flags.js';

/** A wrong command line: the CLI prints the message, points at `skein <command> --help`, exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help says more: 'runs list'. */
    readonly command?: string,
  ) {
    super(message);
  }
}

export function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

/** Where to connect: every command that talks to NATS takes these. */
export const CONNECTION_FLAGS = {
  'nats-url': { type: 'string' },
  namespace: { type: 'string' },
  ...NATS_FLAGS,
} as const;

export const CONNECTION_USAGE = `Connection (each flag overrides its environment variable):
  --nats-url <urls>        NATS server URL(s), comma-separated SKEIN_NATS_URL
  --namespace <ns>         the namespace (default 'skein')    SKEIN_NAMESPACE
${NATS_FLAGS_USAGE}`;

/** Flags of a command that talks to a namespace and prints a result. */
export const CLIENT_FLAGS = {
  ...CONNECTION_FLAGS,
  json: { type: 'boolean' },
  ...HELP_FLAG,
} as const;

export const JSON_USAGE = `  --json                   print the result as JSON (one document)`;

/** node:util parseArgs, strict, positionals allowed. */
type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends OptionsConfig>(args: string[], options: O) {
  return parseArgs({ args, options, strict: true, allowPositionals: true });
}

/** Exactly `names.length` positionals, named in the message when one is missing or extra. */
export function positionalsOf(positionals: string[], names: string[], command: string): string[] {
  if (positionals.length < names.length)
    throw new UsageError(`${command} takes ${names.map((n) => `<${n}>`).join(' ')}`);
  if (positionals.length > names.length)
    throw new UsageError(`${command}: unexpected argument '${positionals[names.length]}'`);
  return positionals;
}

export function wholeNumber(
  value: string | undefined,
  flag: string,
  min = 0,
  max = 65535,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

/** `--retention` and the like: a duration ('90s', '30m', '12h', '7d') or milliseconds. */
export function durationFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  try {
    return retentionMs(/^\d+$/.test(value) ? Number(value) : value, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `k=v` pairs (repeatable flags) as a record. */
export function pairsOf(pairs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`${flag} takes key=value, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function jsonArgument(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}
