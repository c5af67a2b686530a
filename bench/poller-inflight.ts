/**
 * Poller benchmark (issue 4): 1,000 live tasks in flight against the DashScope mock upstream, driven by the real
 * worker loops on PostgreSQL. Reports how long they take to reach their terminal states and the scheduling lag:
 * how late genrelay noticed each upstream completion (completed_at − (submitted_at + the mock's queue+run time)).
 *
 *   npx tsx bench/poller-inflight.ts [tasks=1000] [workers=2] [requests_per_second=100]
 *
 * Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); it creates and drops
 * its own database. Figures depend on the machine: compare runs on the same one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../src/config/index.js';
import { loadSecrets } from '../src/config/secrets.js';
import { buildDeps } from '../src/deps.js';
import { openDb } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { Worker } from '../src/worker/worker.js';
import { createCustomer } from '../src/workflows/customers.js';
import { creditWallet } from '../src/workflows/credits.js';
import { createKey } from '../src/workflows/keys.js';
import { createTask } from '../src/workflows/create-task.js';
import { adminQuery, databaseUrl } from '../test/harness/databases.js';
import { startDashscopeMock } from '../test/mock-upstreams/dashscope/server.js';

const TASKS = Number(process.argv[2] ?? 1000);
const WORKERS = Number(process.argv[3] ?? 2);
/** The channel's upstream request budget (requests per second per process); 100 is the shipped default. */
const BUDGET = Number(process.argv[4] ?? 100);
const QUEUED_MS = 500;
const RUNNING_MS = 1500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const name = `gr_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-bench-'));
  const mock = await startDashscopeMock({ queuedMs: QUEUED_MS, runningMs: RUNNING_MS, key: null });
  const config = parseConfig({
    DATABASE_URL: databaseUrl(name), DATA_DIR: dataDir, OPERATOR_API_KEY: 'bench-operator-key-0123456789', DEMO: 'false',
    WORKER_INTERVAL_MS: '50', POLL_INTERVAL_MS: '250', LOG_LEVEL: 'silent',
  });
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir, poolSize: 30 });
  await migrate(db);
  const deps = await buildDeps(config, loadSecrets(config), { db, logger: pino({ level: 'silent' }), skipMigrations: true });
  await deps.catalog.seedDefaults();
  const actor = { actor: 'bench', ip: null, userAgent: null };
  const channel = await deps.channels.createChannel({ name: 'bench', provider: 'dashscope', base_url: `${mock.baseUrl}/api/v1`, models: { 'happyhorse-1.0': 'happyhorse-1.0-t2v' }, settings: { requests_per_second: BUDGET } });
  for (let index = 0; index < 4; index += 1) await deps.channels.addCredential(channel.id, `bench-key-${index}`, `key ${index}`);
  const customer = await createCustomer(deps, { name: 'bench', email: null, status: 'active', group: 'default', plan: {} }, actor);
  await creditWallet(deps, customer.id, { amount: 10n ** 12n, reason: 'bench', reference: null, mode: 'live' }, actor);
  const key = await createKey(deps, { customerId: customer.id, name: 'bench', mode: 'live', scopes: [], allowedModels: null, ipAllowlist: [], rateLimitRpm: null, maxConcurrency: null, expiresAt: null, createdBy: 'bench', rotatedFrom: null }, actor);
  const principal = await deps.authenticator.authenticate({ authorization: `Bearer ${key.plaintext}`, apiKeyHeader: undefined }, '127.0.0.1');

  const createStarted = Date.now();
  for (let batch = 0; batch < TASKS; batch += 50) {
    await Promise.all(Array.from({ length: Math.min(50, TASKS - batch) }, (_, index) => createTask(deps, {
      principal, face: 'native', kind: 'video', model: 'happyhorse-1.0', prompt: `bench ${batch + index}`, params: { seconds: 5, resolution: '720p' },
      references: [], callbackUrl: null, metadata: null, idempotencyKey: null, fingerprint: null,
    })));
  }
  const createMs = Date.now() - createStarted;

  const workers = Array.from({ length: WORKERS }, () => new Worker(deps));
  const runStarted = Date.now();
  for (const worker of workers) worker.start();
  for (;;) {
    const open = await db.query<{ count: bigint }>("SELECT COUNT(*) AS count FROM tasks WHERE status NOT IN ('succeeded', 'failed', 'cancelled', 'expired')");
    if (Number(open.rows[0]!.count) === 0) break;
    if (Date.now() - runStarted > 10 * 60_000) throw new Error('bench did not finish in 10 minutes');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const runMs = Date.now() - runStarted;
  for (const worker of workers) await worker.stop();

  const rows = await db.query<{ status: string; submitted_at: Date; completed_at: Date }>('SELECT status, submitted_at, completed_at FROM tasks');
  const lags = rows.rows.filter((row) => row.submitted_at).map((row) => row.completed_at.getTime() - row.submitted_at.getTime() - QUEUED_MS - RUNNING_MS).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const row of rows.rows) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  const floor = QUEUED_MS + RUNNING_MS;
  console.log(JSON.stringify({
    tasks: TASKS, workers: WORKERS, requests_per_second: BUDGET, statuses, create_ms: createMs, creates_per_second: Math.round((TASKS / createMs) * 1000),
    run_ms: runMs, upstream_floor_ms: floor, run_over_floor_ratio: Number((runMs / floor).toFixed(2)),
    scheduling_lag_ms: { p50: percentile(lags, 50), p90: percentile(lags, 90), p99: percentile(lags, 99), max: lags.at(-1) ?? 0 },
    upstream_status_requests: mock.control.stats.requests,
  }, null, 2));
  await deps.close();
  await db.close();
  await mock.close();
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
