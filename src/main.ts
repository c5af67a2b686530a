import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { Command } from 'commander';
import { ConfigError, parseConfig } from './config/index.js';
import { loadSecrets } from './config/secrets.js';
import { openDb } from './db/pool.js';
import { migrate } from './db/migrate.js';
import { buildDeps } from './deps.js';
import { buildServer } from './http/server.js';
import type { App } from './http/app-type.js';
import { seedDemo } from './workflows/bootstrap.js';
import { createAdminWithLink, ensureFirstOwner, type CreatedAdmin } from './workflows/admins.js';
import { ADMIN_ROLES, type AdminRole } from './modules/admin-auth/admins.js';
import { systemClock } from './lib/clock.js';
import { createIdGenerator } from './lib/ids.js';
import { AppError } from './lib/errors.js';
import { Worker } from './worker/worker.js';
import { packageRoot } from './lib/package-root.js';

/**
 * Resolves once `serve` listens; never for the other commands. The launcher writes V8's code cache for the server
 * bundle then, when the functions the start-up ran have been compiled (bin/run-bundle.mjs).
 */
let markServing: () => void = () => {};
export const serving = new Promise<void>((resolve) => {
  markServing = resolve;
});

/** How long after it listens an embedded `serve` with the API starts its worker loops. */
const WORKER_START_DELAY_MS = 1000;

/** CLI entry: `genrelay serve | migrate | admin create | mock-upstreams`. Config is parsed once here; bad config exits with a clear message. */
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
    // The embedded default's first start: a pending owner to enroll from the console (a server database gets its
    // first owner from `genrelay admin create`).
    const owner = config.databaseUrl === null && config.role !== 'worker' ? await ensureFirstOwner(deps, config.adminEmail) : null;
    const worker = config.role === 'api' ? null : new Worker(deps);
    await app.listen({ port: config.port, host: config.host });
    // Credit leases are renewed while this instance runs and given back when idle (deps.close gives back the rest).
    if (config.role !== 'worker') deps.leases?.start((error) => deps.logger.warn({ err: error }, 'credit lease upkeep failed'));
    markServing();
    if (config.databaseUrl === null) markEmbeddedInUse(config.dataDir);
    const consoleBuild = config.role === 'worker' ? null : buildConsoleIfMissing(config.consoleDir, deps.logger);
    // The worker's first round after a start (claims, polls, reaping: a dozen statements) would queue on the embedded
    // database's one session ahead of the first requests — readiness probes, clients coming back after a restart —
    // so a process that serves the API from PGlite starts it a second later (issue 14).
    const workerStart = worker && setTimeout(() => worker.start(), config.databaseUrl === null && config.role === 'all' ? WORKER_START_DELAY_MS : 0);
    printFirstStart(config.publicBaseUrl, secrets.generatedOperatorKey, demo?.testKey ?? null, owner);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      deps.logger.info({ signal }, 'shutting down');
      consoleBuild?.kill();
      if (workerStart) clearTimeout(workerStart);
      await drainHttp(app, config.shutdownGraceMs, deps.logger);
      await worker?.stop();
      await deps.close();
      if (config.databaseUrl === null) releaseEmbedded(config.dataDir);
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

/** After the grace, how long cut-off handlers get to settle or release their holds before the database closes. */
const CUT_OFF_WAIT_MS = 10_000;

/**
 * Stops the HTTP side without leaving holds behind (SEMANTICS "Shutdown"): no new connections, new requests on open
 * ones answered 503 `shutting_down`; the running handlers — also those whose client left — get `graceMs` to finish,
 * then long answers are cut off (a stream is settled at what it produced, a synchronous wait answers 202) and get a
 * little longer. Only then are the remaining sockets closed; the caller closes the database after.
 */
async function drainHttp(app: App, graceMs: number, logger: Logger): Promise<void> {
  app.inflight.begin();
  const closed = app.close();
  if (!(await app.inflight.drain(graceMs))) {
    logger.warn({ running: app.inflight.count, graceMs }, 'shutdown grace over: cutting off long answers');
    app.inflight.cutOff();
    if (!(await app.inflight.drain(CUT_OFF_WAIT_MS))) {
      logger.error({ running: app.inflight.count }, 'requests still running at shutdown: their holds are left to the sweeper');
    }
  }
  app.server.closeAllConnections();
  await closed;
}

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

const admin = program.command('admin').description('operator console admins');

admin
  .command('create')
  .description('create a pending console admin and print a one-time enrollment link (valid 24 h)')
  .requiredOption('--email <email>', 'the admin\'s email (their sign-in name)')
  .option('--role <role>', `${ADMIN_ROLES.join(', ')}`, 'owner')
  .action(async (options: { email: string; role: string }) => {
    const config = parseConfig();
    if (!(ADMIN_ROLES as readonly string[]).includes(options.role)) {
      console.error(`--role must be one of ${ADMIN_ROLES.join(', ')}`);
      process.exit(2);
    }
    if (!/^[^@\s]+@[^@\s]+$/.test(options.email) || options.email.length > 254) {
      console.error('--email must be an email address');
      process.exit(2);
    }
    if (config.databaseUrl === null) refuseIfEmbeddedInUse(config.dataDir);
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      await migrate(db);
      const created = await createAdminWithLink(
        { db, clock: systemClock, ids: createIdGenerator(systemClock), config },
        { email: options.email, role: options.role as AdminRole },
      );
      const what = created.reissued ? 'new enrollment link for the pending admin' : `${created.admin.role} created (pending)`;
      console.log(`${created.admin.email}: ${what}`);
      console.log(`Enrollment link (one-time, valid until ${created.expiresAt.toISOString()}):`);
      console.log(`  ${created.url}`);
    } catch (error) {
      if (error instanceof AppError) {
        console.error(error.message);
        process.exitCode = 1;
      } else {
        throw error;
      }
    } finally {
      await db.close();
    }
  });

program
  .command('mock-upstreams')
  .description('serve every mock upstream family on one port, to try real adapters offline (PROVIDERS §11.1)')
  .option('--port <port>', 'port to listen on', '9090')
  .option('--key <key>', 'accept only this API key (default: any non-empty key)')
  .option('--queued-ms <ms>', 'how long mock tasks stay queued', '2000')
  .option('--running-ms <ms>', 'how long mock tasks run', '3000')
  .option('--stripe-webhook-url <url>', 'where the fake Stripe sends its signed events', 'http://127.0.0.1:8080/webhooks/stripe')
  .option('--stripe-webhook-secret <secret>', 'the fake Stripe\'s signing secret (genrelay\'s STRIPE_WEBHOOK_SECRET)')
  .action(async (options: { port: string; key?: string; queuedMs: string; runningMs: string; stripeWebhookUrl: string; stripeWebhookSecret?: string }) => {
    // The mocks live with the tests, outside the server bundle; tsx loads them straight from TypeScript.
    const { tsImport } = await import('tsx/esm/api');
    const mock = (path: string) => tsImport(pathToFileURL(join(packageRoot(), 'test', 'mock-upstreams', path)).href, import.meta.url);
    const { startAllMocks, FAMILY_BASE_PATHS, CHAIN_BASE_PATHS } = (await mock('all.ts')) as typeof import('../test/mock-upstreams/all.js');
    const { DEFAULT_STRIPE_WEBHOOK_SECRET } = (await mock('stripe/server.ts')) as typeof import('../test/mock-upstreams/stripe/server.js');
    const stripeSecret = options.stripeWebhookSecret ?? DEFAULT_STRIPE_WEBHOOK_SECRET;
    const running = await startAllMocks(Number(options.port), {
      key: options.key ?? null,
      queuedMs: Number(options.queuedMs),
      runningMs: Number(options.runningMs),
    }, { webhookUrl: options.stripeWebhookUrl, webhookSecret: stripeSecret });
    console.log(`mock upstreams on ${running.baseUrl}`);
    for (const [family, path] of Object.entries(FAMILY_BASE_PATHS)) console.log(`  ${family.padEnd(10)} ${running.baseUrl}${path}`);
    console.log(`  ${'tron'.padEnd(10)} ${running.baseUrl}${CHAIN_BASE_PATHS.tron}  (TRONGRID_URL; pay: POST ${CHAIN_BASE_PATHS.tron}/_mock/transfer {"to","amount"}, confirm: POST ${CHAIN_BASE_PATHS.tron}/_mock/confirm {"blocks":19})`);
    console.log(`  ${'evm'.padEnd(10)} ${running.baseUrl}${CHAIN_BASE_PATHS.evm}  (EVM_RPC_URL; pay: POST ${CHAIN_BASE_PATHS.evm}/_mock/transfer {"to","amount"}, confirm: POST ${CHAIN_BASE_PATHS.evm}/_mock/confirm {"blocks":64})`);
    console.log(`  ${'stripe'.padEnd(10)} ${running.baseUrl}  (STRIPE_API_BASE; STRIPE_WEBHOOK_SECRET=${stripeSecret}; events to ${options.stripeWebhookUrl})`);
  });

/**
 * `npm ci` builds the console (`prepare`); an install without it (a checkout where the build was skipped) builds it
 * on the first start, in the background: `/admin` answers its 503 page until `dist/console/admin` is there. Only the
 * package's own `dist/console` is built this way (a custom CONSOLE_DIR is the operator's to fill).
 */
function buildConsoleIfMissing(consoleDir: string, logger: Logger): ChildProcess | null {
  const root = packageRoot();
  const viteConfig = join(root, 'console', 'vite.config.ts');
  if (existsSync(join(consoleDir, 'admin', 'index.html')) || resolve(consoleDir) !== join(root, 'dist', 'console') || !existsSync(viteConfig)) return null;
  let vite: string;
  try {
    vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    logger.warn('the operator console is not built and vite is not installed: run npm run build:console');
    return null;
  }
  logger.info('the operator console is not built: building it now (npm run build:console)');
  const child = spawn(process.execPath, [vite, 'build', '--config', viteConfig], { cwd: root, stdio: 'ignore' });
  child.on('exit', (code) => {
    if (code === 0) logger.info('operator console built: /admin is ready');
    else if (code !== null) logger.warn({ code }, 'building the operator console failed: run npm run build:console to see why');
  });
  child.on('error', (error) => logger.warn({ err: error }, 'could not start the console build'));
  return child;
}

/**
 * The embedded database is one PGlite directory that only one process may open. A serving process leaves its pid in
 * DATA_DIR/genrelay.pid; `admin create` refuses to open the directory while that process lives.
 */
const pidFile = (dataDir: string) => join(dataDir, 'genrelay.pid');

function markEmbeddedInUse(dataDir: string): void {
  writeFileSync(pidFile(dataDir), `${process.pid}\n`);
}

function releaseEmbedded(dataDir: string): void {
  rmSync(pidFile(dataDir), { force: true });
}

function refuseIfEmbeddedInUse(dataDir: string): void {
  if (!existsSync(pidFile(dataDir))) return;
  const pid = Number(readFileSync(pidFile(dataDir), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EPERM') return; // a stale file: that process is gone
  }
  console.error(`genrelay is serving from ${dataDir} (pid ${pid}); the embedded database cannot be opened twice.`);
  console.error('Stop it first, or invite the admin from the console (Admins).');
  process.exit(1);
}

function printFirstStart(baseUrl: string, operatorKey: string | null, testKey: string | null, owner: CreatedAdmin | null): void {
  if (!operatorKey && !testKey && !owner) return;
  const lines = ['', '  genrelay first start — these secrets are shown once; store them now.', ''];
  if (operatorKey) lines.push(`  Operator API key:   ${operatorKey}`);
  if (testKey) lines.push(`  Demo test API key:  ${testKey}`);
  if (owner) {
    lines.push(`  Console owner:      ${owner.admin.email} — enroll within 24 h (password + authenticator app):`);
    lines.push(`  Enrollment link:    ${owner.url}`);
  }
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
