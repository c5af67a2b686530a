import { Command } from 'commander';
import { ConfigError, parseConfig } from './config/index.js';
import { loadSecrets } from './config/secrets.js';
import { openDb } from './db/pool.js';
import { migrate } from './db/migrate.js';
import { buildDeps } from './deps.js';
import { buildServer } from './http/server.js';
import { seedDemo } from './workflows/bootstrap.js';
import { Worker } from './worker/worker.js';

/** CLI entry: `genrelay serve | migrate`. Config is parsed once here; bad config exits with a clear message. */
const program = new Command()
  .name('genrelay')
  .description('Self-hosted gateway for reselling AI generation behind one API key and one credit wallet');

program
  .command('serve', { isDefault: true })
  .description('migrate, seed the catalog and demo on first start, serve the API and run the workers (GENRELAY_ROLE)')
  .action(async () => {
    const config = parseConfig();
    const secrets = loadSecrets(config);
    const deps = await buildDeps(config, secrets);
    await deps.catalog.seedDefaults();
    const app = buildServer(deps, { apiRoutes: config.role !== 'worker' });
    const demo = config.demo ? await seedDemo(deps) : null;
    const worker = config.role === 'api' ? null : new Worker(deps);
    await app.listen({ port: config.port, host: config.host });
    worker?.start();
    printFirstStart(config.publicBaseUrl, secrets.generatedOperatorKey, demo?.testKey ?? null);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      deps.logger.info({ signal }, 'shutting down');
      await app.close();
      await worker?.stop();
      await deps.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const config = parseConfig();
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    const applied = await migrate(db);
    await db.close();
    console.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
  });

program
  .command('mock-upstreams')
  .description('serve every mock upstream family on one port, to try real adapters offline (PROVIDERS §11.1)')
  .option('--port <port>', 'port to listen on', '9090')
  .option('--key <key>', 'accept only this API key (default: any non-empty key)')
  .option('--queued-ms <ms>', 'how long mock tasks stay queued', '2000')
  .option('--running-ms <ms>', 'how long mock tasks run', '3000')
  .action(async (options: { port: string; key?: string; queuedMs: string; runningMs: string }) => {
    // The mocks live with the tests; tsx runs them straight from TypeScript.
    const { startAllMocks, FAMILY_BASE_PATHS } = await import('../test/mock-upstreams/all.js');
    const running = await startAllMocks(Number(options.port), {
      key: options.key ?? null,
      queuedMs: Number(options.queuedMs),
      runningMs: Number(options.runningMs),
    });
    console.log(`mock upstreams on ${running.baseUrl}`);
    for (const [family, path] of Object.entries(FAMILY_BASE_PATHS)) console.log(`  ${family.padEnd(10)} ${running.baseUrl}${path}`);
  });

function printFirstStart(baseUrl: string, operatorKey: string | null, testKey: string | null): void {
  if (!operatorKey && !testKey) return;
  const lines = ['', '  genrelay first start — these secrets are shown once; store them now.', ''];
  if (operatorKey) lines.push(`  Operator API key:   ${operatorKey}`);
  if (testKey) lines.push(`  Demo test API key:  ${testKey}`);
  lines.push('', `  Try:  curl -H "Authorization: Bearer ${testKey ?? '<key>'}" ${baseUrl}/v1/usage`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
