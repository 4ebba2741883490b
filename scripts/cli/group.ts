/** A command group (`skein runs …`): its subcommands, its help, unknown ones as usage errors. */
import { isParseArgsError, UsageError } from './args.js';

export interface Subcommand {
  /** One line for the group's help. */
  summary: string;
  run(args: string[]): Promise<number>;
}

export function groupUsage(group: string, subs: Record<string, Subcommand>): string {
  const w = Math.max(...Object.keys(subs).map((s) => s.length));
  const lines = Object.entries(subs).map(([name, s]) => `  ${name.padEnd(w)}  ${s.summary}`);
  return `Usage: skein ${group} <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'skein ${group} <command> --help' for its options.\n`;
}

export async function runGroup(
  group: string,
  subs: Record<string, Subcommand>,
  args: string[],
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    process.stderr.write(groupUsage(group, subs));
    return 2;
  }
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(groupUsage(group, subs));
    return 0;
  }
  const command = Object.hasOwn(subs, sub) ? subs[sub] : undefined;
  if (!command)
    throw new UsageError(
      `unknown command 'skein ${group} ${sub}': use one of ${Object.keys(subs).join(', ')}`,
    );
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err))
      throw new UsageError((err as Error).message, `${group} ${sub}`);
    throw err;
  }
}
