/**
 * The package users install: `npm pack` (which builds dist/ in prepack), the tarball installed
 * into a fresh project, a user's program typechecked by tsc under the strictest settings
 * (skipLibCheck off) and run with plain node against a real nats-server, and the `skein` bin.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { startNatsServer, type NatsServerHandle } from './support/nats-server.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const consumer = fileURLToPath(new URL('./fixtures/package-consumer', import.meta.url));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const MAX_FILES = 150;
const STEP_MS = 240_000;

/** npm's own variables (set when this runs under `npm test`) must not steer the nested npm. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
);

let work: string;
let app: string;
let files: string[];
let nats: NatsServerHandle;
/** What tsc printed for the user's program (it also emits main.js, which the run test runs). */
let typecheck: string;

beforeAll(
  async () => {
    work = mkdtempSync(join(tmpdir(), 'skein-package-'));
    await run('npm', ['pack', '--pack-destination', work], {
      cwd: repo,
      env,
      timeout: STEP_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz'))!,
    );
    files = (await run('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean);

    app = join(work, 'app');
    cpSync(consumer, app, { recursive: true });
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        `@types/node@${pkg.devDependencies['@types/node']}`,
      ],
      { cwd: app, env, timeout: STEP_MS },
    );
    typecheck = await run(process.execPath, [tsc, '-p', app], { cwd: app, timeout: STEP_MS })
      .then((r) => r.stdout)
      .catch((err: { stdout?: string }) => err.stdout || String(err));
    nats = await startNatsServer();
  },
  3 * STEP_MS + 60_000,
);

afterAll(async () => {
  await nats?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the built package and nothing a user does not run', () => {
    expect(files.length).toBeLessThan(MAX_FILES);
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/runtime.d.ts');
    expect(files).toContain('package/bin/skein.js');
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/CHANGELOG.md');
    const shipped =
      /^package\/(dist\/|bin\/skein\.js$|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/;
    expect(files.filter((f) => !shipped.test(f))).toEqual([]);
    expect(files.filter((f) => /\.spec\.|bench|examples|(?<!\.d)\.ts$/.test(f))).toEqual([]);
  });
});

describe('the installed package', () => {
  it("typechecks a user's program under strict settings with skipLibCheck off", () => {
    // strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes (fixtures/package-consumer).
    expect(typecheck).toBe('');
  });

  it('runs a task and a workflow end to end with plain node', async () => {
    // main.js: tsc's output for main.ts (beforeAll).
    const { stdout } = await run(
      process.execPath,
      [join(app, 'main.js'), nats.url, `pkg-${process.pid}`],
      { cwd: app, timeout: 60_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ hello: 'Hello, package!', value: 42, text: 'got 42' });
  }, 90_000);

  it('has a working skein bin', async () => {
    const bin = join(app, 'node_modules', '.bin', 'skein');
    const { stdout } = await run(bin, ['engine', '--help'], { cwd: app, timeout: 60_000 });
    expect(stdout).toContain('Usage: skein engine');
    await expect(run(bin, ['demo'], { cwd: app, timeout: 60_000 })).rejects.toMatchObject({
      stderr: expect.stringContaining('runs from a clone of the Skein repository'),
    });
  }, 90_000);
});
