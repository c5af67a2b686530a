import { defineConfig } from 'vitest/config';

/**
 * Projects: unit tests; the integration suite twice (embedded PGlite and real PostgreSQL, SEMANTICS D1);
 * concurrency tests on PostgreSQL only (D9); the operator console in Chromium (browser). The global setup migrates one template of each engine.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/providers/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration-pglite', include: ['test/integration/**/*.test.ts'], env: { GENRELAY_TEST_ENGINE: 'pglite' } },
      },
      {
        extends: true,
        test: { name: 'integration-postgres', include: ['test/integration/**/*.test.ts'], env: { GENRELAY_TEST_ENGINE: 'postgres' } },
      },
      {
        // The console in real Chromium (test/browser/harness.ts): one file at a time, each with its own app and browser.
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], fileParallelism: false, testTimeout: 120_000 },
      },
      {
        extends: true,
        test: { name: 'concurrency-postgres', include: ['test/concurrency/**/*.test.ts'], env: { GENRELAY_TEST_ENGINE: 'postgres' } },
      },
    ],
  },
});
