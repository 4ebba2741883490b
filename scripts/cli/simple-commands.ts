/** Commands of one shape: list a kind (`skein crons list`), delete one by id (`skein crons delete <id>`). */
import type { Skein } from 'skein';
import { CLIENT_FLAGS, CONNECTION_USAGE, JSON_USAGE, parse, positionalsOf } from './args.js';
import { withSkein } from './client.js';
import { out, printJson, printList } from './output.js';

/** `what` names the kind ('cron'); `about` says what deleting one does, for its help. */
export function deleteById(
  what: string,
  about: string,
  del: (skein: Skein, id: string) => Promise<void>,
): (args: string[]) => Promise<number> {
  const command = `skein ${what}s delete`;
  const usage = `Usage: ${command} <id>

${about} Exits 1 when no ${what} has this id.

Options:
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;
  return async (args) => {
    const { values, positionals } = parse(args, CLIENT_FLAGS);
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    const [id] = positionalsOf(positionals, ['id'], command);
    return withSkein(values, async (skein) => {
      await del(skein, id);
      if (values.json) printJson({ id, deleted: true });
      else out(`deleted ${what} ${id}\n`);
      return 0;
    });
  };
}

export interface ListSpec<T> {
  /** `skein crons list` */
  command: string;
  /** What it lists, for its help (lines of at most 92 characters). */
  about: string;
  /** What an empty list prints: `no crons`. */
  none: string;
  fetch: (skein: Skein) => Promise<T[]>;
  headings: string[];
  row: (item: T) => string[];
}

/** A list command without flags of its own: a table, or `--json`. */
export function listCommand<T>(spec: ListSpec<T>): (args: string[]) => Promise<number> {
  const usage = `Usage: ${spec.command} [--json]

${spec.about}

Options:
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;
  return async (args) => {
    const { values, positionals } = parse(args, CLIENT_FLAGS);
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    positionalsOf(positionals, [], spec.command);
    return withSkein(values, async (skein) => {
      printList(await spec.fetch(skein), values.json, spec.none, spec.headings, spec.row);
      return 0;
    });
  };
}
