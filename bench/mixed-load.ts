/**
 * The steady mixed load of `npm run soak` and `npm run bench:retention`, started one second at
 * a time by `second(n)`: 4 plain tasks that log a line, 2 tasks under a concurrency key (2 at a
 * time per key), a two-task workflow; every 5 s a durable task that memos a charge and sleeps
 * 5-20 s, a durable task that waits for an event pushed 2-10 s later (`eventWaits`), and a task
 * whose input and output (300 KB each) are stored as objects (`largePayloads`); a cron every
 * minute. It counts what a soak checks: task bodies per run, memo bodies per run, concurrency
 * overruns, cron ticks, and runs triggered / completed / failed / still pending.
 */
import type { Declaration, RunRef, Skein } from 'skein';
import { say, sleep } from './util.js';

const KEYS = 4;
const LARGE = 'x'.repeat(300_000);

export interface MixedLoadOptions {
  /** Prefix of the declarations' names. */
  prefix: string;
  eventWaits: boolean;
  largePayloads: boolean;
}

export interface PendingRun {
  ref: RunRef<unknown>;
  kind: string;
  at: number;
}

export class MixedLoad {
  readonly workflows: Declaration[];
  /** Task bodies run, per run (per run and task in a workflow). */
  readonly executions = new Map<string, number>();
  /** Memo bodies run, per durable run. */
  readonly charges = new Map<string, number>();
  readonly pending = new Map<string, PendingRun>();
  readonly triggerErrors: string[] = [];
  triggered = 0;
  completed = 0;
  failed = 0;
  overLimit = 0;
  cronTicks = 0;
  private readonly running = new Map<string, number>();
  private readonly triggers: ((n: number) => void)[] = [];

  constructor(
    private readonly skein: Skein,
    o: MixedLoadOptions,
  ) {
    const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
    const task = skein.task({
      name: `${o.prefix}-task`,
      fn: async (n: number, ctx) => {
        bump(this.executions, ctx.runId);
        ctx.log(`task ${n}`);
        await sleep(20);
        return n;
      },
    });
    const keyed = skein.task({
      name: `${o.prefix}-keyed`,
      concurrency: { expression: 'input.key', maxRuns: 2 },
      scheduleTimeout: '30m',
      fn: async (input: { key: string }, ctx) => {
        bump(this.executions, ctx.runId);
        bump(this.running, input.key);
        if (this.running.get(input.key)! > 2) this.overLimit++;
        await sleep(200);
        bump(this.running, input.key, -1);
        return input.key;
      },
    });
    const wf = skein.workflow<number>({ name: `${o.prefix}-wf` });
    const first = wf.task({
      name: 'first',
      fn: (n: number, ctx) => (bump(this.executions, `${ctx.runId}/first`), n + 1),
    });
    wf.task({
      name: 'second',
      parents: [first],
      fn: (_: number, ctx) => (
        bump(this.executions, `${ctx.runId}/second`),
        ctx.parentOutput(first) * 2
      ),
    });
    const charges = this.charges;
    const sleeper = skein.durableTask({
      name: `${o.prefix}-sleeper`,
      fn: async (ms: number, ctx) => {
        await ctx.memo(function charge() {
          bump(charges, ctx.runId);
          return ms;
        });
        return (await ctx.sleepFor(ms)).durationMs;
      },
    });
    // The event is pushed 2-10 s after the body reached its wait (an event stored before the
    // wait began is not seen: docs/API.md), once per run however often replay brings it back.
    const pushed = new Set<string>();
    const waiter = skein.durableTask({
      name: `${o.prefix}-waiter`,
      fn: async (key: string, ctx) => {
        if (!pushed.has(ctx.runId)) {
          pushed.add(ctx.runId);
          setTimeout(
            () =>
              void skein.events
                .push(key, { runId: ctx.runId })
                .catch((err: unknown) => say(`push failed: ${String(err)}`)),
            2_000 + Math.random() * 8_000,
          );
        }
        return ctx.waitForEvent(key);
      },
    });
    const large = skein.task({
      name: `${o.prefix}-large`,
      fn: (input: string, ctx) => (bump(this.executions, ctx.runId), input.toUpperCase()),
    });
    const cron = skein.task({
      name: `${o.prefix}-cron`,
      onCrons: ['* * * * *'],
      fn: () => void this.cronTicks++,
    });
    this.workflows = [task, keyed, wf, sleeper, cron];
    if (o.eventWaits) this.workflows.push(waiter);
    if (o.largePayloads) this.workflows.push(large);

    this.triggers.push(
      () =>
        this.start('task', task.runManyNoWait([0, 1, 2, 3].map((i) => task.createBulkRunItem(i)))),
      (n) =>
        this.start(
          'keyed',
          keyed.runManyNoWait(
            [0, 1].map((i) => keyed.createBulkRunItem({ key: `k${(n + i) % KEYS}` })),
          ),
        ),
      (n) => this.start('workflow', wf.runNoWait(n)),
      (n) => {
        if (n % 5 !== 0) return;
        this.start('sleeper', sleeper.runNoWait(5_000 + Math.floor(Math.random() * 15_000)));
        if (o.eventWaits) this.start('waiter', waiter.runNoWait(`${o.prefix}:${n}`));
        if (o.largePayloads) this.start('large', large.runNoWait(LARGE));
      },
    );
  }

  /** Triggers second `n`'s share of the load (without waiting for the triggers). */
  second(n: number) {
    for (const trigger of this.triggers) trigger(n);
  }

  private start(kind: string, refs: Promise<RunRef<unknown> | RunRef<unknown>[]>) {
    refs.then(
      (r) => (Array.isArray(r) ? r : [r]).forEach((ref) => this.track(kind, ref)),
      (err: unknown) => this.triggerErrors.push(`${kind}: ${String(err)}`),
    );
  }

  private track(kind: string, ref: RunRef<unknown>) {
    this.triggered++;
    this.pending.set(ref.runId, { ref, kind, at: Date.now() });
    ref.result().then(
      () => (this.completed++, this.pending.delete(ref.runId)),
      (err: unknown) => {
        this.failed++;
        this.pending.delete(ref.runId);
        say(`run ${ref.runId} (${kind}) failed: ${String(err)}`);
      },
    );
  }

  /** Waits up to `seconds` for every run triggered to end. */
  async drain(seconds: number) {
    say(`triggering stopped; waiting up to ${seconds} s for ${this.pending.size} runs`);
    const end = Date.now() + seconds * 1000;
    while (this.pending.size > 0 && Date.now() < end) await sleep(1000);
  }

  /** Runs still pending, with what the engine says of each (the first 20). */
  async reportStuck(t0: number) {
    for (const s of [...this.pending.values()].slice(0, 20)) {
      const run = await this.skein.runs.get(s.ref.runId).catch(() => undefined);
      say(
        `stuck: ${s.ref.runId} (${s.kind}, triggered ${Math.round((s.at - t0) / 1000)} s in): ${run?.status ?? 'not found'}`,
      );
    }
  }
}
