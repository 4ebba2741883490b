import { defineConfig } from 'vitest/config';

/**
 * Test tiers, selected by file suffix:
 *   *.unit.spec.ts  pure logic, no I/O
 *   *.int.spec.ts   against a throw-away nats-server (test/support/nats-server.ts)
 *   *.e2e.spec.ts   whole engine / SDK end to end
 *   *.slow.spec.ts  fault injection and soak tests
 *
 * `npm test` runs every project; `npm run test:fast` runs all but `slow`
 * (`vitest run --project unit --project int --project e2e`).
 */
const exclude = [
  '**/node_modules/**',
  '**/.git/**',
  '**/dist/**',
  '**/coverage/**',
  '**/.skein/**',
];

export default defineConfig({
  // 'skein' and 'skein/runtime' are the source here (tsconfig.json "paths"), not dist/.
  resolve: { tsconfigPaths: true },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // expect.poll gives up after 1 s by default: too soon on a busy 2-core machine.
    expect: { poll: { timeout: 15_000, interval: 50 } },
    // On CI a JSON report as well, from which .ci/run prints a plain 'N passed, N failed' line.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.vitest-report.json' }]]
      : ['default'],
    exclude,
    projects: [
      { extends: true, test: { name: 'unit', include: ['**/*.unit.spec.ts'] } },
      { extends: true, test: { name: 'int', include: ['**/*.int.spec.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['**/*.e2e.spec.ts'] } },
      { extends: true, test: { name: 'slow', include: ['**/*.slow.spec.ts'] } },
    ],
  },
});
