/** `skein runs …`: listing and reading runs; following and acting on them live in their own files. */
import {
  CLIENT_FLAGS,
  CONNECTION_USAGE,
  JSON_USAGE,
  parse,
  positionalsOf,
  wholeNumber,
} from './args.js';
import { withSkein } from './client.js';
import { runGroup, type Subcommand } from './group.js';
import { historyLines } from './history-text.js';
import { out, printJson } from './output.js';
import { cancelCommand, replayCommand } from './run-actions.js';
import { FILTER_FLAGS, FILTER_USAGE, runFilterOf } from './run-filter.js';
import { logsCommand, watchCommand } from './run-follow.js';
import { runsTable, runText } from './run-text.js';

const help = (usage: string) => {
  process.stdout.write(usage);
  return 0;
};

const LIST_USAGE = `Usage: skein runs list [filters] [--limit n] [--cursor c] [--json]

The runs that match, newest first, one page at a time (skein.runs.page). When more match,
prints the cursor of the next page: pass it as --cursor.

${FILTER_USAGE}
Options:
  --limit <n>              runs on a page, 1 to 1000 (default 100)
  --cursor <cursor>        the page after the one that printed this cursor
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;

const LIST_OPTIONS = {
  ...FILTER_FLAGS,
  limit: { type: 'string' },
  cursor: { type: 'string' },
  ...CLIENT_FLAGS,
} as const;

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, LIST_OPTIONS);
  if (values.help) return help(LIST_USAGE);
  positionalsOf(positionals, [], 'skein runs list');
  const query = {
    ...runFilterOf(values),
    limit: wholeNumber(values.limit, '--limit', 1, 1000),
    cursor: values.cursor,
  };
  return withSkein(values, async (skein) => {
    const page = await skein.runs.page(query);
    if (values.json) printJson(page);
    else if (page.runs.length === 0) out('no runs match\n');
    else {
      out(runsTable(page.runs));
      if (page.nextCursor) out(`next cursor: ${page.nextCursor}\n`);
    }
    return 0;
  });
}

const GET_USAGE = `Usage: skein runs get <runId> [--json]

A run: its status, input, output or error, and its tasks (skein.runs.get). Exits 1 when
no run has this id.

Options:
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;

async function get(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_FLAGS);
  if (values.help) return help(GET_USAGE);
  const [runId] = positionalsOf(positionals, ['runId'], 'skein runs get');
  return withSkein(values, async (skein) => {
    const run = await skein.runs.get(runId);
    if (values.json) printJson(run);
    else out(runText(run));
    return 0;
  });
}

const HISTORY_USAGE = `Usage: skein runs history <runId> [--at <seq>] [--json]

The run's events in order, as stored (skein.runs.history). With --at, the run as it was
right after event <seq>, printed as 'skein runs get' prints it (skein.runs.get(id, { at })):
time travel. Exits 1 when no run has this id (or no event this seq).

Options:
  --at <seq>               the run right after this event of its history
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;

const HISTORY_OPTIONS = { at: { type: 'string' }, ...CLIENT_FLAGS } as const;

async function history(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, HISTORY_OPTIONS);
  if (values.help) return help(HISTORY_USAGE);
  const [runId] = positionalsOf(positionals, ['runId'], 'skein runs history');
  const at = wholeNumber(values.at, '--at', 1, Number.MAX_SAFE_INTEGER);
  return withSkein(values, async (skein) => {
    if (at !== undefined) {
      const run = await skein.runs.get(runId, { at });
      if (values.json) printJson(run);
      else out(runText(run));
      return 0;
    }
    const events = await skein.runs.history(runId);
    if (values.json) printJson(events);
    else out(`${historyLines(events).join('\n')}\n`);
    return 0;
  });
}

export const RUNS: Record<string, Subcommand> = {
  list: { summary: 'list runs, newest first, with the run index filters', run: list },
  get: { summary: 'show a run and its tasks', run: get },
  history: { summary: "show a run's events (--at <seq>: the run as it was then)", run: history },
  logs: { summary: "show a run's log lines (--follow: until it ends)", run: logsCommand },
  watch: {
    summary: 'follow a run until it ends; exit 0 completed, 1 failed or cancelled',
    run: watchCommand,
  },
  cancel: { summary: 'cancel runs, by id or --all-matching a filter', run: cancelCommand },
  replay: {
    summary: 'run finished runs again, by id or --all-matching a filter',
    run: replayCommand,
  },
};

export const runsCommand = (args: string[]) => runGroup('runs', RUNS, args);
