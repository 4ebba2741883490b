#!/usr/bin/env node
// The `skein` CLI. Installed from npm it runs the built dist/cli.js with plain Node; in a
// clone of the repository (where scripts/cli.ts exists) it runs the TypeScript source through
// tsx, which maps 'skein' and 'skein/runtime' to the source by tsconfig.json's "paths".
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const source = new URL('../scripts/cli.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  cli = await import(source.href);
} else {
  cli = await import('../dist/cli.js');
}
process.exitCode = await cli.main(process.argv.slice(2));
