#!/usr/bin/env node
// The `skein` CLI. There is no build step: register tsx's loader, then run the TypeScript
// entry point (scripts/cli.ts).
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scripts/cli.ts');
process.exitCode = await main(process.argv.slice(2));
