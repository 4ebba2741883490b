/** `skein schedules list|delete`. */
import { deleteById, listCommand } from './simple-commands.js';
import { runGroup, type Subcommand } from './group.js';
import { ago, statusText } from './output.js';

const list = listCommand({
  command: 'skein schedules list',
  about: `The schedules not deleted, soonest first, those already triggered included
(skein.schedules.list).`,
  none: 'no schedules',
  fetch: (skein) => skein.schedules.list(),
  headings: ['ID', 'RUNS', 'AT', 'STATUS', 'RUN ID'],
  row: (s) => [
    s.id,
    s.workflowName,
    `${s.triggerAt.toISOString()} (${ago(s.triggerAt)})`,
    statusText(s.status),
    s.runId,
  ],
});

export const SCHEDULES: Record<string, Subcommand> = {
  list: { summary: 'list the schedules', run: list },
  delete: {
    summary: 'delete a schedule by id',
    run: deleteById(
      'schedule',
      'Deletes a schedule; if it has not triggered yet, its run never starts.',
      (skein, id) => skein.schedules.delete(id),
    ),
  },
};

export const schedulesCommand = (args: string[]) => runGroup('schedules', SCHEDULES, args);
