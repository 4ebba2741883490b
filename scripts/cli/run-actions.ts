/** `skein runs cancel|replay`: by id, or every run matching a filter (`--all-matching`, `--yes`). */
import type { RunFilter, RunStatus, Skein } from 'skein';
import { CLIENT_FLAGS, CONNECTION_USAGE, JSON_USAGE, parse, UsageError } from './args.js';
import { failed, withSkein } from './client.js';
import { out, printJson } from './output.js';
import { FILTER_FLAGS, FILTER_USAGE, runFilterOf } from './run-filter.js';

/** Who acted, in the run's history. */
const BY = 'cli';

interface Action {
  verb: 'cancel' | 'replay';
  done: string;
  /** The runs it acts on, as the dry run's count says (one, several). */
  eligible: [string, string];
  byId(skein: Skein, runId: string, fromTask: string | undefined): Promise<void>;
  byFilter(skein: Skein, filter: RunFilter): Promise<{ count: number }>;
  /** How many runs it would act on. */
  matching(skein: Skein, filter: RunFilter): Promise<number>;
}

const ACTION_FLAGS = {
  'all-matching': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  ...FILTER_FLAGS,
  ...CLIENT_FLAGS,
} as const;

function usage(verb: string, what: string, extra = ''): string {
  return `Usage: skein runs ${verb} <runId>… [options]
       skein runs ${verb} --all-matching [filters] [--yes]

${what}
With --all-matching and the filters of 'skein runs list', acts on every run that matches
(cancel: those not ended; replay: those ended); without --yes it only prints how many that
is and changes nothing. Exits 1 when a run id is
unknown (the others are still acted on).

Options:
${extra}  --all-matching           act on the runs matching the filters below, not on ids
  -y, --yes                with --all-matching: do it (without: print the count only)
${JSON_USAGE}
  -h, --help               show this help

${FILTER_USAGE}
${CONNECTION_USAGE}`;
}

const FROM_TASK_FLAG = { 'from-task': { type: 'string' } } as const;

async function act(action: Action, args: string[], usageText: string): Promise<number> {
  const options = action.verb === 'replay' ? { ...ACTION_FLAGS, ...FROM_TASK_FLAG } : ACTION_FLAGS;
  const { values, positionals } = parse(args, options);
  if (values.help) {
    process.stdout.write(usageText);
    return 0;
  }
  const fromTask = (values as { 'from-task'?: string })['from-task'];
  const filter = runFilterOf(values);
  if (values['all-matching']) {
    if (positionals.length > 0)
      throw new UsageError(
        `--all-matching acts on a filter: give run ids or --all-matching, not both`,
      );
    if (fromTask !== undefined)
      throw new UsageError('--from-task takes run ids, not --all-matching');
    return withSkein(values, async (skein) => {
      if (!values.yes) {
        const count = await action.matching(skein, filter);
        if (values.json) printJson({ count, done: false });
        else
          out(
            `${count} matching run${count === 1 ? '' : 's'} ${action.eligible[count === 1 ? 0 : 1]}; run again with --yes to ${action.verb} ${count === 1 ? 'it' : 'them'}\n`,
          );
        return 0;
      }
      const result = await action.byFilter(skein, filter);
      if (values.json) printJson(result);
      else out(`${action.done} ${result.count} run${result.count === 1 ? '' : 's'}\n`);
      return 0;
    });
  }
  if (Object.keys(filter).length > 0 || values.yes)
    throw new UsageError('the filters and --yes go with --all-matching');
  if (positionals.length === 0)
    throw new UsageError(`skein runs ${action.verb} takes run ids, or --all-matching with filters`);
  return withSkein(values, async (skein) => {
    const runIds: string[] = [];
    let code = 0;
    for (const runId of positionals) {
      try {
        await action.byId(skein, runId, fromTask);
        runIds.push(runId);
        if (!values.json) out(`${action.done} ${runId}\n`);
      } catch (err) {
        code = failed(err);
      }
    }
    if (values.json) printJson({ runIds });
    return code;
  });
}

/** How many runs with one of `statuses` match (what the action would touch). */
async function countMatching(skein: Skein, filter: RunFilter, statuses: RunStatus[]) {
  const counts = await skein.runs.counts(filter);
  return statuses.reduce((sum, s) => sum + counts[s], 0);
}

const CANCEL: Action = {
  verb: 'cancel',
  done: 'cancelled',
  eligible: ['has not ended', 'have not ended'],
  byId: (skein, runId) => skein.runs.cancel(runId, { by: BY }),
  byFilter: (skein, filter) => skein.runs.cancel({ filter, by: BY }),
  matching: (skein, filter) => countMatching(skein, filter, ['QUEUED', 'RUNNING']),
};

const REPLAY: Action = {
  verb: 'replay',
  done: 'replaying',
  eligible: ['has ended', 'have ended'],
  byId: (skein, runId, fromTask) => skein.runs.replay(runId, { fromTask, by: BY }),
  byFilter: (skein, filter) => skein.runs.replay({ filter, by: BY }),
  matching: (skein, filter) => countMatching(skein, filter, ['COMPLETED', 'FAILED', 'CANCELLED']),
};

const CANCEL_USAGE = usage(
  'cancel',
  "Cancels runs: their queued tasks are dropped and running ones see ctx.signal abort; a run\nthat has ended stays as it ended. The run's history records the cancel as made by 'cli'.",
);
const REPLAY_USAGE = usage(
  'replay',
  "Runs finished runs again under the same id, from the start or (--from-task) from a task\non. The run's history records the replay as made by 'cli'.",
  '  --from-task <name>       replay from this task on (its dependencies keep their outputs)\n',
);

export const cancelCommand = (args: string[]) => act(CANCEL, args, CANCEL_USAGE);
export const replayCommand = (args: string[]) => act(REPLAY, args, REPLAY_USAGE);
