/** `skein runs logs [--follow]` and `skein runs watch`: a run read until it ends. */
import type { RunInfo, RunLogLine, Skein } from 'skein';
import { CLIENT_FLAGS, CONNECTION_USAGE, JSON_USAGE, parse, positionalsOf } from './args.js';
import { withSkein } from './client.js';
import { duration, out, paint, printJson, statusText, truncate } from './output.js';

/** How often a followed run is read again while it goes on. */
const POLL_MS = 300;

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
export const isFinished = (run: RunInfo) => TERMINAL.has(run.status);

/**
 * Polled rather than awaited with runRef().result(): a client closed while such a wait is
 * pending keeps polling the engine, and the process would not exit.
 */
const pause = () => new Promise((resolve) => setTimeout(resolve, POLL_MS));

const time = (at: Date) => at.toISOString().slice(11, 23);

const logText = (l: RunLogLine) => {
  const level =
    l.level === 'error'
      ? paint('red', l.level.padEnd(5))
      : l.level === 'warn'
        ? paint('yellow', l.level.padEnd(5))
        : l.level.padEnd(5);
  return `${time(l.at)}  ${level}  ${l.taskName}  ${l.message}\n`;
};

const LOGS_USAGE = `Usage: skein runs logs <runId> [--follow] [--json]

The run's log lines (ctx.log / ctx.logger in its tasks; skein.runs.logs). Exits 1 when no
run has this id.

Options:
  -f, --follow             keep printing new lines until the run ends
${JSON_USAGE} (with --follow: one JSON line per log line)
  -h, --help               show this help

${CONNECTION_USAGE}`;

const LOGS_OPTIONS = { follow: { type: 'boolean', short: 'f' }, ...CLIENT_FLAGS } as const;

export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, LOGS_OPTIONS);
  if (values.help) {
    process.stdout.write(LOGS_USAGE);
    return 0;
  }
  const [runId] = positionalsOf(positionals, ['runId'], 'skein runs logs');
  const print = (l: RunLogLine) => (values.json ? printJson(l) : out(logText(l)));
  return withSkein(values, async (skein) => {
    let run = await skein.runs.get(runId); // NotFoundError when there is no run
    if (!values.follow) {
      const lines = await skein.runs.logs(runId);
      if (values.json) printJson(lines);
      else lines.forEach(print);
      return 0;
    }
    let printed = 0;
    for (;;) {
      const done = isFinished(run);
      // Lines written before the run ended are all there once it has.
      const lines = await skein.runs.logs(runId);
      lines.slice(printed).forEach(print);
      printed = lines.length;
      if (done) return 0;
      await pause();
      run = await skein.runs.get(runId);
    }
  });
}

const WATCH_USAGE = `Usage: skein runs watch <runId> [--json]

Follows a run until it ends, printing each change of its status and its tasks', and the
latest chunk its tasks stream (ctx.putStream). Exits 0 when it completed, 1 when it failed
or was cancelled (or there is no such run).

Options:
${JSON_USAGE} (one JSON line per change: {"run": <as skein.runs.get returns it>},
                           and per chunk: {"stream": <chunk>})
  -h, --help               show this help

${CONNECTION_USAGE}`;

/** What a watcher reports a change of. */
const stateOf = (run: RunInfo) =>
  JSON.stringify([run.status, run.tasks.map((t) => [t.name, t.status, t.attempts, t.waitingFor])]);

function changeText(run: RunInfo, before: RunInfo | undefined): string {
  const lines: string[] = [];
  const now = time(new Date());
  if (run.status !== before?.status) lines.push(`${now}  run ${run.id} ${statusText(run.status)}`);
  for (const t of run.tasks) {
    const old = before?.tasks.find((b) => b.name === t.name);
    if (
      old &&
      old.status === t.status &&
      old.attempts === t.attempts &&
      old.waitingFor === t.waitingFor
    )
      continue;
    const extra = [
      t.attempts > 1 ? `attempt ${t.attempts}` : '',
      t.status === 'QUEUED' && t.waitingFor ? `waiting for ${t.waitingFor}` : '',
      t.error && t.status !== 'COMPLETED' ? paint('red', t.error) : '',
    ].filter(Boolean);
    lines.push(
      `${now}    task ${t.name} ${statusText(t.status)}${extra.length ? `  ${extra.join('  ')}` : ''}`,
    );
  }
  return lines.map((l) => `${l}\n`).join('');
}

function endText(run: RunInfo): string {
  const took = run.finishedAt
    ? duration(run.finishedAt.getTime() - (run.startedAt ?? run.createdAt).getTime())
    : '-';
  const how =
    run.status === 'COMPLETED' ? `output ${JSON.stringify(run.output)}` : (run.error ?? '');
  return `run ${run.id} ${statusText(run.status)} in ${took}: ${how}\n`;
}

const chunkText = (chunk: unknown) =>
  truncate(typeof chunk === 'string' ? chunk : (JSON.stringify(chunk) ?? ''), 200);

/**
 * The watch's output. On a terminal the latest stream chunk is one line, rewritten in place
 * under the changes; elsewhere each chunk is a line of its own.
 */
class WatchOutput {
  private latest: string | undefined;
  private readonly live = process.stdout.isTTY === true;

  constructor(private readonly json: boolean) {}

  change(run: RunInfo, before: RunInfo | undefined) {
    if (this.json) return printJson({ run });
    this.clear();
    out(changeText(run, before));
    this.redraw();
  }

  chunk(chunk: unknown) {
    if (this.json) return printJson({ stream: chunk });
    this.latest = `${time(new Date())}    ${paint('dim', 'stream')} ${chunkText(chunk)}`;
    if (!this.live) return out(`${this.latest}\n`);
    this.clear();
    this.redraw();
  }

  end(run: RunInfo) {
    if (this.json) return;
    this.clear();
    if (this.live && this.latest) out(`${this.latest}\n`);
    out(endText(run));
  }

  private clear() {
    if (this.live && this.latest) out('\r\u001b[K');
  }

  private redraw() {
    if (this.live && this.latest) out(this.latest);
  }
}

/** Prints the run's stream until the run ends (the iterator ends then). */
async function readStream(skein: Skein, runId: string, output: WatchOutput) {
  for await (const chunk of skein.runs.subscribeToStream(runId)) output.chunk(chunk);
}

export async function watchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_FLAGS);
  if (values.help) {
    process.stdout.write(WATCH_USAGE);
    return 0;
  }
  const [runId] = positionalsOf(positionals, ['runId'], 'skein runs watch');
  const output = new WatchOutput(values.json === true);
  return withSkein(values, async (skein) => {
    let run = await skein.runs.get(runId);
    // Failed or not, it is awaited once the run has ended (after its last chunks).
    const stream = readStream(skein, runId, output).then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    let before: RunInfo | undefined;
    for (;;) {
      if (stateOf(run) !== (before && stateOf(before))) {
        output.change(run, before);
        before = run;
      }
      if (isFinished(run)) break;
      await pause();
      run = await skein.runs.get(runId);
    }
    const streamFailed = await stream;
    if (streamFailed) throw streamFailed.err;
    output.end(run);
    return run.status === 'COMPLETED' ? 0 : 1;
  });
}
