/** Commands of one shape: list a kind (`skein crons list`), delete one by id (`skein crons delete <id>`). */
import type { Skein } from 'skein';
import { CLIENT_FLAGS, CONNECTION_USAGE, JSON_USAGE, parse, positionalsOf } from './args.js';
import { withSkein } from './client.js';
import { out, printJson, printList } from './output.js';

type Flags = ReturnType<typeof parse<typeof CLIENT_FLAGS>>['values'];

/**
 * A command taking the client flags only: `synopsis` and `about` head its help; `run` gets
 * its positionals (`names`, checked) once `--help` is out of the way.
 */
function clientCommand(
  command: string,
  synopsis: string,
  about: string,
  names: string[],
  run: (values: Flags, positionals: string[]) => Promise<number>,
): (args: string[]) => Promise<number> {
  const usage = `Usage: ${command} ${synopsis}

${about}

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
    return run(values, positionalsOf(positionals, names, command));
  };
}

/** `what` names the kind ('cron'); `about` says what deleting one does, for its help. */
export function deleteById(
  what: string,
  about: string,
  del: (skein: Skein, id: string) => Promise<void>,
): (args: string[]) => Promise<number> {
  return clientCommand(
    `skein ${what}s delete`,
    '<id>',
    `${about} Exits 1 when no ${what} has this id.`,
    ['id'],
    (values, [id]) =>
      withSkein(values, async (skein) => {
        await del(skein, id!);
        if (values.json) printJson({ id, deleted: true });
        else out(`deleted ${what} ${id}\n`);
        return 0;
      }),
  );
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
  return clientCommand(spec.command, '[--json]', spec.about, [], (values) =>
    withSkein(values, async (skein) => {
      printList(await spec.fetch(skein), values.json, spec.none, spec.headings, spec.row);
      return 0;
    }),
  );
}
