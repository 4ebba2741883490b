/** `skein crons list|delete`. */
import { deleteById, listCommand } from './simple-commands.js';
import { runGroup, type Subcommand } from './group.js';
import { ago } from './output.js';

const list = listCommand({
  command: 'skein crons list',
  about: `The crons not deleted, by name (skein.crons.list): made by createCron or declared with onCrons.`,
  none: 'no crons',
  fetch: (skein) => skein.crons.list(),
  headings: ['ID', 'NAME', 'EXPRESSION', 'RUNS', 'TIMEZONE', 'NEXT', 'LAST', 'LAST RUN'],
  row: (c) => [
    c.id,
    c.declarative ? `${c.name} (declared)` : c.name,
    c.expression,
    c.workflowName,
    c.timezone,
    ago(c.nextRunAt),
    ago(c.lastRunAt),
    c.lastRunId ?? '-',
  ],
});

export const CRONS: Record<string, Subcommand> = {
  list: { summary: 'list the crons', run: list },
  delete: {
    summary: 'delete a cron by id',
    run: deleteById(
      'cron',
      'Deletes a cron: no later tick runs (a declared one comes back when a worker registers it again).',
      (skein, id) => skein.crons.delete(id),
    ),
  },
};

export const cronsCommand = (args: string[]) => runGroup('crons', CRONS, args);
