/** `skein events push|list`. */
import {
  CLIENT_FLAGS,
  CONNECTION_USAGE,
  jsonArgument,
  pairsOf,
  JSON_USAGE,
  parse,
  positionalsOf,
  UsageError,
  wholeNumber,
} from './args.js';
import { ago, metadataText, printList, truncate } from './output.js';
import { timeFlag } from './run-filter.js';
import { withSkein } from './client.js';
import { runGroup, type Subcommand } from './group.js';

const PUSH_USAGE = `Usage: skein events push <key> <json> [options]

Pushes an event and prints its id once it is stored: {"eventId":"…"}.
Every task and workflow whose onEvents match <key> gets a run with <json> as its input.

Options:
  --metadata <k=v>         additional metadata (repeatable)
  --scope <scope>          the event's scope (only waits with this scope, or none, see it)
  --priority <n>           1, 2 or 3 for the runs it triggers
  --id <eventId>           the event's id (pushing an id again triggers nothing new)
  -h, --help               show this help

${CONNECTION_USAGE}`;

const PUSH_OPTIONS = {
  metadata: { type: 'string', multiple: true },
  scope: { type: 'string' },
  priority: { type: 'string' },
  id: { type: 'string' },
  ...CLIENT_FLAGS,
} as const;

async function push(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, PUSH_OPTIONS);
  if (values.help) {
    process.stdout.write(PUSH_USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('events push takes a key and a JSON payload');
  const [key, json] = positionalsOf(positionals, ['key', 'json'], 'skein events push');
  const payload = jsonArgument(json, 'the payload');
  const additionalMetadata = pairsOf(values.metadata, '--metadata');
  const priority = values.priority === undefined ? undefined : Number(values.priority);
  return withSkein(values, async (skein) => {
    const { eventId } = await skein.events.push(key, payload, {
      additionalMetadata,
      scope: values.scope,
      priority,
      eventId: values.id,
    });
    process.stdout.write(`${JSON.stringify({ eventId })}\n`);
    return 0;
  });
}

const LIST_USAGE = `Usage: skein events list [--key k] [--since when] [--limit n] [--json]

The events pushed, newest first, with the runs each started (skein.events.list).

Options:
  --key <key>              only events pushed under this key
  --since <when>           stored at or after: a span back from now ('15m', '1h', '2d') or an ISO time
  --limit <n>              at most this many, 1 to 1000 (default 50)
${JSON_USAGE}
  -h, --help               show this help

${CONNECTION_USAGE}`;

const LIST_OPTIONS = {
  key: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  ...CLIENT_FLAGS,
} as const;

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, LIST_OPTIONS);
  if (values.help) {
    process.stdout.write(LIST_USAGE);
    return 0;
  }
  positionalsOf(positionals, [], 'skein events list');
  const query = {
    ...(values.key !== undefined && { key: values.key }),
    ...(values.since !== undefined && { since: timeFlag(values.since, '--since') }),
    ...(values.limit !== undefined && { limit: wholeNumber(values.limit, '--limit', 1, 1000) }),
  };
  return withSkein(values, async (skein) => {
    printList(
      await skein.events.list(query),
      values.json,
      'no events',
      ['ID', 'KEY', 'AT', 'PAYLOAD', 'METADATA', 'RUNS'],
      (e) => [
        e.eventId,
        e.key,
        ago(e.at),
        truncate(JSON.stringify(e.payload) ?? '', 50),
        metadataText(e.additionalMetadata),
        e.runIds.join(' ') || '-',
      ],
    );
    return 0;
  });
}

export const EVENTS: Record<string, Subcommand> = {
  list: { summary: 'list the events pushed, newest first, with the runs they started', run: list },
  push: { summary: 'push an event: skein events push <key> <json>', run: push },
};

export const eventsCommand = (args: string[]) => runGroup('events', EVENTS, args);
