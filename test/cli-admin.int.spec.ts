/** `skein workers|crons|schedules|events|rate-limits …`, usage errors and --help, as the real binary. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Skein } from 'skein';
import { skeinCli } from './support/cli.js';
import { startSkeinEnv, type SkeinEnv } from './support/skein-env.js';

// Each command is a Node process starting tsx: seconds apiece on a busy machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

let env: SkeinEnv;
let skein: Skein;
let cliEnv: Record<string, string>;

beforeAll(async () => {
  env = await startSkeinEnv();
  const client = await env.client();
  skein = client.skein;
  cliEnv = { SKEIN_NATS_URL: env.url, SKEIN_NAMESPACE: client.namespace };
});
afterAll(async () => {
  await env.stop();
});

const cli = (...args: string[]) => skeinCli(args, cliEnv);

describe('skein workers, crons and schedules', () => {
  it('lists workers, crons and schedules, and deletes a cron and a schedule by id', async () => {
    const report = skein.task({
      name: 'report',
      onEvents: ['order:paid'],
      fn: () => ({ ok: true }),
    });
    await (await skein.worker('admin-w', { workflows: [report], labels: { gpu: 'a100' } })).start();
    const cron = await report.createCron('nightly', '0 2 * * *', {});
    const later = await report.schedule(new Date(Date.now() + 3_600_000), {});

    const workers = await cli('workers', 'list');
    expect(workers).toMatchObject({ code: 0, stderr: '' });
    expect(workers.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+SLOTS\s+LABELS\s+HEARTBEAT/);
    expect(workers.stdout).toMatch(
      /admin-w-\S+\s+admin-w\s+ACTIVE\s+\d+\s+gpu=a100\s+\d+(ms|s) ago/,
    );

    const crons = await cli('crons', 'list', '--json');
    expect(crons.code).toBe(0);
    expect(JSON.parse(crons.stdout)).toEqual([
      expect.objectContaining({
        id: cron.id,
        name: 'nightly',
        expression: '0 2 * * *',
        workflowName: 'report',
      }),
    ]);
    const schedules = await cli('schedules', 'list');
    expect(schedules.code).toBe(0);
    expect(schedules.stdout).toMatch(
      new RegExp(`^${later.id}\\s+report\\s+\\S+ \\(in (59|60)m\\)\\s+SCHEDULED`, 'm'),
    );

    expect(await cli('crons', 'delete', cron.id)).toMatchObject({
      code: 0,
      stdout: `deleted cron ${cron.id}\n`,
    });
    expect(await skein.crons.list()).toEqual([]);
    expect(await cli('schedules', 'delete', later.id)).toMatchObject({ code: 0 });
    expect(await skein.schedules.list()).toEqual([]);
    const again = await cli('schedules', 'delete', later.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no schedule with id '${later.id}'`);
  });
});

describe('skein events and rate-limits', () => {
  it('lists the events pushed with the runs they started', async () => {
    const pushed = await cli(
      'events',
      'push',
      'order:paid',
      '{"order":1}',
      '--metadata',
      'source=cli',
    );
    expect(pushed.code).toBe(0);
    const { eventId } = JSON.parse(pushed.stdout) as { eventId: string };
    await vi.waitFor(
      async () => {
        const [event] = await skein.events.list({ key: 'order:paid' });
        expect(event?.runIds).toHaveLength(1);
      },
      { timeout: 30_000 },
    );
    const listed = await cli('events', 'list', '--key', 'order:paid', '--since', '1h');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+KEY\s+AT\s+PAYLOAD\s+METADATA\s+RUNS/);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${eventId}\\s+order:paid\\s+\\d+(ms|s) ago\\s+\\{"order":1\\}\\s+source=cli\\s+\\S+`,
        'm',
      ),
    );
  });

  it('upserts a rate limit and lists it', async () => {
    const upserted = await cli(
      'rate-limits',
      'upsert',
      'openai',
      '--limit',
      '10',
      '--duration',
      'minute',
    );
    expect(upserted).toMatchObject({ code: 0, stdout: 'rate limit openai: 10 per minute\n' });
    await vi.waitFor(async () => expect(await skein.rateLimits.list()).toHaveLength(1), {
      timeout: 30_000,
    });
    const listed = await cli('rate-limits', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ key: 'openai', limit: 10, durationMs: 60_000, used: 0 }),
    ]);
    expect(listed.code).toBe(0);
  });
});

describe('usage', () => {
  it('exits 2 naming an unknown command, an unknown flag or a bad value', async () => {
    const [command, sub, flag, value, missing] = await Promise.all([
      skeinCli(['frobnicate']),
      skeinCli(['crons', 'frob']),
      skeinCli(['workers', 'list', '--bogus']),
      skeinCli(['runs', 'list', '--since', 'yesterday']),
      skeinCli(['rate-limits', 'upsert', 'k', '--limit', '5', '--duration', 'week']),
    ]);
    expect(command).toMatchObject({ code: 2, stdout: '' });
    expect(command.stderr).toMatch(/unknown command 'frobnicate'\nRun 'skein --help'/);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/unknown command 'skein crons frob': use one of list, delete/);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'[^]*Run 'skein workers list --help'/);
    expect(value.code).toBe(2);
    expect(value.stderr).toMatch(/--since takes a span back from now .* got 'yesterday'/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /--duration must be one of second, minute, hour, day, got 'week'/,
    );
  });

  it('skein engine: the dashboard flags are checked before anything starts', async () => {
    const [open, tokenOnly] = await Promise.all([
      skeinCli(['engine', '--http-port', '0', '--http-host', '0.0.0.0']),
      skeinCli(['engine', '--dashboard-token', 'a-long-enough-token']),
    ]);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/0\.0\.0\.0.*token|token.*0\.0\.0\.0/);
    expect(tokenOnly.code).toBe(2);
    expect(tokenOnly.stderr).toMatch(/--http-host and --dashboard-token need --http-port/);
  });

  it('--help on the CLI, a group and a command, with the connection flags', async () => {
    const [top, group, command] = await Promise.all([
      skeinCli(['--help']),
      skeinCli(['schedules', '--help']),
      skeinCli(['events', 'list', '--help']),
    ]);
    expect(top).toMatchObject({ code: 0, stderr: '' });
    for (const name of [
      'dev',
      'engine',
      'runs',
      'workers',
      'crons',
      'schedules',
      'events',
      'rate-limits',
    ])
      expect(top.stdout).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    expect(group).toMatchObject({ code: 0 });
    expect(group.stdout).toMatch(/^ {2}list\s+list the schedules$/m);
    expect(group.stdout).toMatch(/^ {2}delete\s+delete a schedule by id$/m);
    expect(command).toMatchObject({ code: 0 });
    for (const option of [
      '--key',
      '--since',
      '--limit',
      '--json',
      '--nats-url',
      '--namespace',
      '--nats-creds',
    ])
      expect(command.stdout).toContain(option);
  });
});
