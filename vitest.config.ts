import { defineConfig } from 'vitest/config';

/**
 * Projects: unit tests; the integration suite twice (embedded PGlite and real PostgreSQL, SEMANTICS D1);
 * concurrency tests on PostgreSQL only (D9); the operator console in Chromium (browser). The global setup migrates one template of each engine.
 *
 * The unit and integration files share their worker's module cache (`isolate: false`): each file starts its own app,
 * database and mocks, and importing the source tree again for every file was a third of those projects' time.
 * The e2e, browser and concurrency files (processes, browsers, kill -9) keep a fresh module graph per file.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', isolate: false, include: ['test/unit/**/*.test.ts', 'test/providers/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration-pglite', isolate: false, include: ['test/integration/**/*.test.ts'], env: { GENRELAY_TEST_ENGINE: 'pglite' } },
      },
      {
        extends: true,
        test: { name: 'integration-postgres', isolate: false, include: ['test/integration/**/*.test.ts'], env: { GENRELAY_TEST_ENGINE: 'postgres' } },
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
