/** Runs a test fixture in its own Node process (so a test can SIGKILL it) and waits for its "ready" line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ChildHandle {
  process: ChildProcess;
  /** Everything the child printed, for assertions and debugging. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startChild(
  fixture: string,
  args: string[],
  readyTimeoutMs = 20_000,
  /** Where it runs: tsx reads the tsconfig there (another tree's, for the previous release). */
  cwd?: string,
): Promise<ChildHandle> {
  // An absolute path runs a script elsewhere (the previous release's tree, in the upgrade test).
  const script = isAbsolute(fixture)
    ? fixture
    : fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
  });
  live.add(child);
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${fixture} not ready after ${readyTimeoutMs} ms:\n${out}`)),
      readyTimeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`${fixture} exited before ready:\n${out}`)));
  });
  return {
    process: child,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
