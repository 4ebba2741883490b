// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Lint fence: code under actors/** is pure state-machine logic. It must not reach for I/O,
 * the NATS client, the logger or the codec; the runtime injects those. Bare builtin names
 * ('fs', 'crypto', ...) are fenced as well as the `node:` form.
 */
const actorFence = {
  paths: [
    ...builtinModules.map((name) => ({
      name,
      message: 'actors/ must stay pure: no Node builtins (the runtime provides I/O).',
    })),
    { name: 'pino', message: 'actors/ must not log directly; emit effects instead.' },
    { name: 'msgpackr', message: 'actors/ must not depend on the wire codec.' },
  ],
  patterns: [
    {
      group: ['@nats-io/*'],
      message: 'actors/ must not import the NATS client; the runtime owns all I/O.',
    },
    { group: ['node:*'], message: 'actors/ must stay pure: no Node builtins.' },
    { group: ['pino/*', 'msgpackr/*'], message: 'actors/ must not import pino or msgpackr.' },
  ],
};

/**
 * Lint fence: sdk/ runs in users' processes and talks to the engine only over the bus. Of
 * runtime/ it may import the wire layer (what both sides of the bus share: the codec, the
 * protocol and its ids, subjects and bounds, connecting, requests, dispatch signatures,
 * permission refusals, rejected messages, run creation, reading journal entries, errors,
 * options) and no engine module.
 */
const WIRE_MODULES = [
  'bounds',
  'codec',
  'connection',
  'dispatch-signature',
  'duration',
  'errors',
  'format',
  'ids',
  'journal-entries',
  'nats-options',
  'options',
  'payload-ref',
  'payloads',
  'permissions',
  'protocol',
  'rejections',
  'requester',
  'run-creation',
  'subjects',
];
/** One of them, as an import path ends; a split protocol.ts (protocol-x.ts, protocol/x.ts) counts. */
const wireModule = `(${WIRE_MODULES.join('|')}|protocol[-/][\\w/-]+)\\.js`;
const sdkFence = {
  patterns: [
    {
      regex: `^(\\.\\./)+runtime/(?!${wireModule}$)`,
      message:
        'sdk/ may import only the wire layer of runtime/ (WIRE_MODULES in eslint.config.js), ' +
        'never an engine module: move what the SDK needs into a wire module.',
    },
    { group: ['skein/runtime'], message: 'sdk/ must not import the engine (skein/runtime).' },
  ],
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/.skein/**',
      '**/dist/**',
      '**/coverage/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['actors/**/*.ts', 'actors/**/*.js', 'actors/**/*.mts'],
    rules: {
      'no-restricted-imports': ['error', actorFence],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression',
          message: 'actors/ must not use dynamic import().',
        },
        {
          selector: "CallExpression[callee.name='require']",
          message: 'actors/ must not use require().',
        },
      ],
    },
  },
  {
    files: ['sdk/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', sdkFence] },
  },
  {
    // The layers go one way (sdk -> runtime -> actors): the engine never depends on the SDK.
    files: ['runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../sdk/*', 'skein'], message: 'runtime/ must not import the SDK (sdk/).' },
            {
              group: ['../dashboard/*'],
              message: 'runtime/ must not import the dashboard (only http.ts mounts it).',
            },
          ],
        },
      ],
    },
  },
  {
    // The one exception: the engine's HTTP server mounts the dashboard, an SDK client of its
    // namespace (docs/DESIGN.md "The dashboard").
    files: ['runtime/http.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../sdk/*', 'skein'], message: 'runtime/ must not import the SDK (sdk/).' },
          ],
        },
      ],
    },
  },
  {
    // The dashboard sits above the SDK: of runtime/ it may import the wire layer, as sdk/ does.
    files: ['dashboard/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+runtime/(?!${wireModule}$)`,
              message:
                'dashboard/ may import only the wire layer of runtime/ (WIRE_MODULES in eslint.config.js): it is an SDK client of the engine.',
            },
            { group: ['skein/runtime'], message: 'dashboard/ must not import the engine.' },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's client script runs in the browser, as it is (no build step).
    files: ['dashboard/assets/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
  },
);
