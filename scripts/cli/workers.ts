/** `skein workers list`. */
import { runGroup, type Subcommand } from './group.js';
import { listCommand } from './simple-commands.js';
import { ago, metadataText, paint, statusText } from './output.js';

const list = listCommand({
  command: 'skein workers list',
  about: `The namespace's workers (skein.workers.list): status, slots, labels, last heartbeat, and
the names each one serves with a shape another running worker disagrees with.`,
  none: 'no workers',
  fetch: (skein) => skein.workers.list(),
  headings: ['ID', 'NAME', 'STATUS', 'SLOTS', 'LABELS', 'HEARTBEAT', 'CONFLICTS'],
  row: (w) => [
    w.id,
    w.name,
    statusText(w.status),
    String(w.slots),
    metadataText(w.labels),
    ago(w.lastHeartbeatAt),
    w.conflicts.length ? paint('red', w.conflicts.join('; ')) : '',
  ],
});

export const WORKERS: Record<string, Subcommand> = {
  list: { summary: 'list the workers of the namespace', run: list },
};

export const workersCommand = (args: string[]) => runGroup('workers', WORKERS, args);
