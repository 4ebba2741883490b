// @ts-check
/**
 * `npm run build`: the published package in dist/ (ESM, declarations, source maps), one
 * JavaScript and one declaration file per entry point plus the chunks they share. The repo
 * itself runs from source (tsconfig.json "paths"); only the installed package uses dist/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { defineConfig } from 'rolldown';
import { dts } from 'rolldown-plugin-dts';
import pkg from './package.json' with { type: 'json' };

const dependencies = Object.keys(pkg.dependencies);
const builtins = new Set(builtinModules);

/** The engine's and SDK's dependencies stay imports; Node builtins too. */
const isExternal = (id) =>
  id.startsWith('node:') ||
  builtins.has(id) ||
  dependencies.some((d) => id === d || id.startsWith(`${d}/`));

/**
 * The dashboard's static files (dashboard/assets/: style.css, client.js), copied as they are
 * to dist/assets/, next to the chunk holding dashboard/assets-files.ts, which reads them from
 * `./assets/` beside itself.
 */
const dashboardAssets = () => ({
  name: 'dashboard-assets',
  generateBundle() {
    for (const name of readdirSync('dashboard/assets'))
      this.emitFile({
        type: 'asset',
        fileName: `assets/${name}`,
        source: readFileSync(`dashboard/assets/${name}`),
      });
  },
});

export default defineConfig({
  input: {
    index: 'sdk/index.ts',
    runtime: 'runtime/index.ts',
    cli: 'scripts/cli.ts',
  },
  platform: 'node',
  // `skein demo` runs from a clone of the repository only (it starts nats-server in .skein/).
  external: (id) => isExternal(id) || id === '../demo.js',
  tsconfig: 'tsconfig.json',
  plugins: [
    dashboardAssets(),
    // stripInternal: constructors marked @internal take the client's NATS connection; a user's
    // tsc (skipLibCheck: false) must not reach @nats-io's declarations through them.
    dts({ tsconfig: 'tsconfig.json', compilerOptions: { stripInternal: true } }),
  ],
  // The declaration plugin is slow by nature (it runs tsc); no timing report for it.
  checks: { pluginTimings: false },
  output: {
    dir: 'dist',
    format: 'esm',
    sourcemap: true,
    cleanDir: true,
  },
});
