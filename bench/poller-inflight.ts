/**
 * Poller benchmark (issues 4 and 14): live tasks in flight against the DashScope mock upstream (500 ms queued +
 * 1,500 ms running), driven by the real worker loops on PostgreSQL. Reports how long they take to reach their terminal
 * states and the scheduling lag: how late genrelay noticed each upstream completion (completed_at − (submitted_at +
 * the mock's queue+run time)).
 *
 *   npx tsx bench/poller-inflight.ts [tasks=1000] [workers=2] [requests_per_second=100]
 *
 * Env DISPATCH_HOLD_MS sets the dispatch hold (default 0 = off, as shipped; e.g. 500 to compare); env
 * ADAPTIVE_POLLING=false turns the paced first reads off (SEMANTICS T16; on as shipped); env POLL_SLOTS sets the
 * status checks per worker (1,000 as shipped).
 *
 * The workers share one process and so one request budget per channel (requests_per_second), as two worker instances
 * of one process would. The mock upstream runs in its own thread, as a real upstream runs elsewhere: answering and
 * rendering each result MP4 is not genrelay's work and does not take turns on its event loop.
 *
 * `diagnosis` says where the time went: `budget_floor_ms` is how long the budget alone needs for the upstream requests
 * the run made; for each task's last status read (the one that saw the completion) the lag splits into how late the
 * read began after the upstream had finished, its wait for the budget, the upstream's answer, and the download, store
 * and settlement after it. Event-loop utilisation near 1 means the process itself was the limit.
 * `lag_beyond_budget_wait_ms` is each task's lag less its noticing read's wait for the budget (what the budget forced).
 *
 * Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); it creates and drops
 * its own database. Figures depend on the machine: compare runs on the same one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker as Thread } from 'node:worker_threads';
import pino from 'pino';
import { parseConfig } from '../src/config/index.js';
import { loadSecrets } from '../src/config/secrets.js';
import { buildDeps } from '../src/deps.js';
import { openDb } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import type { Route, Router } from '../src/modules/routing/router.js';
import type { TaskRow } from '../src/modules/tasks/types.js';
import type { BudgetUse } from '../src/lib/token-bucket.js';
import { Worker } from '../src/worker/worker.js';
import { createCustomer } from '../src/workflows/customers.js';
import { creditWallet } from '../src/workflows/credits.js';
import { createKey } from '../src/workflows/keys.js';
import { createTask } from '../src/workflows/create-task.js';
import { adminQuery, databaseUrl } from '../test/harness/databases.js';
import { startDashscopeMock } from '../test/mock-upstreams/dashscope/server.js';
import { tableActivity } from './peers-procs.js';

const TASKS = Number(process.argv[2] ?? 1000);
const WORKERS = Number(process.argv[3] ?? 2);
/** The channel's upstream request budget (requests per second per process); 100 is the shipped default. */
const BUDGET = Number(process.argv[4] ?? 100);
/** Status checks before new work (config DISPATCH_HOLD_MS): env DISPATCH_HOLD_MS, default 0 (off) as shipped. */
const HOLD = process.env.DISPATCH_HOLD_MS ?? '0';
/** Paced first reads (config ADAPTIVE_POLLING, SEMANTICS T16): env ADAPTIVE_POLLING, default true as shipped. */
const PACING = process.env.ADAPTIVE_POLLING ?? 'true';
const QUEUED_MS = 500;
const RUNNING_MS = 1500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function spread(values: number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

/** One upstream call as the worker made it: when its run began, when it asked for the budget, sent, got the answer. */
interface Call {
  began: number;
  asked: number;
  sent: number;
  answered: number;
}

/** Wraps the router so every create and status read is timed (the bench's diagnosis; genrelay runs unchanged). */
function traceCalls(router: Router) {
  const creates: Call[] = [];
  const reads = new Map<string, Call[]>();
  const timed = (route: Route, method: 'start' | 'status', call: Call): Route => {
    const adapter = Object.create(route.adapter);
    adapter[method] = async (...args: unknown[]) => {
      call.sent = Date.now();
      try {
        return await (route.adapter[method] as (...given: unknown[]) => Promise<unknown>)(...args);
      } finally {
        call.answered = Date.now();
      }
    };
    return { ...route, adapter, budget: async (use?: BudgetUse) => { call.asked = Date.now(); await route.budget(use); } };
  };
  const routeFor = router.routeFor.bind(router);
  const routeOf = router.routeOf.bind(router);
  router.routeFor = async (task: TaskRow, group?: string) => {
    const call: Call = { began: Date.now(), asked: 0, sent: 0, answered: 0 };
    const route = await routeFor(task, group);
    if (!route) return route;
    creates.push(call);
    return timed(route, 'start', call);
  };
  router.routeOf = async (task: TaskRow) => {
    const call: Call = { began: Date.now(), asked: 0, sent: 0, answered: 0 };
    const route = await routeOf(task);
    if (!route) return route;
    reads.set(task.id, [...(reads.get(task.id) ?? []), call]);
    return timed(route, 'status', call);
  };
  return { creates, reads };
}

/** Starts the mock upstream in its own thread; `requests()` reads its request counts. */
async function startUpstream() {
  // A thread does not inherit tsx's loader: its entry registers it, then loads this file again.
  const entry = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const thread = new Thread(entry, { eval: true });
  const next = () => new Promise<any>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  const { baseUrl } = (await next()) as { baseUrl: string };
  return {
    baseUrl,
    /** Request counts by kind, and how busy the mock's thread was since it started. */
    stats: async (): Promise<{ requests: Record<string, number>; loopBusy: number }> => {
      thread.postMessage('stats');
      return next();
    },
    close: async () => {
      thread.postMessage('close');
      await next();
      await thread.terminate();
    },
  };
}

async function serveUpstream(): Promise<void> {
  const mock = await startDashscopeMock({ queuedMs: QUEUED_MS, runningMs: RUNNING_MS, key: null, sharedMedia: true });
  const started = performance.eventLoopUtilization();
  parentPort!.on('message', async (message) => {
    if (message === 'stats') {
      parentPort!.postMessage({ requests: mock.control.stats.requests, loopBusy: performance.eventLoopUtilization(started).utilization });
    }
    if (message === 'close') {
      await mock.close();
      parentPort!.postMessage({ closed: true });
    }
  });
  parentPort!.postMessage({ baseUrl: mock.baseUrl });
}

async function main(): Promise<void> {
  const name = `gr_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-bench-'));
  const mock = await startUpstream();
  const config = parseConfig({
    DATABASE_URL: databaseUrl(name), DATA_DIR: dataDir, OPERATOR_API_KEY: 'bench-operator-key-0123456789', DEMO: 'false',
    WORKER_INTERVAL_MS: '50', POLL_INTERVAL_MS: '250', LOG_LEVEL: 'silent', DISPATCH_HOLD_MS: HOLD,
    ADAPTIVE_POLLING: PACING, ...(process.env.POLL_SLOTS ? { POLL_SLOTS: process.env.POLL_SLOTS } : {}),
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

  const trace = traceCalls(deps.router);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const workers = Array.from({ length: WORKERS }, () => new Worker(deps));
  const loopStarted = performance.eventLoopUtilization();
  const runStarted = Date.now();
  for (const worker of workers) worker.start();
  // Every 200 ms: status checks due but not started (the poller's backlog), and the slots in use.
  const samples = { due_unclaimed: [] as number[], poll_slots_busy: [] as number[], dispatch_slots_busy: [] as number[] };
  for (;;) {
    // Both read through the partial indexes on open tasks: the bench's own queries stay out of what it measures.
    const open = await db.query<{ open: boolean; due: bigint }>(
      `SELECT EXISTS (SELECT 1 FROM tasks WHERE status IN ('queued', 'dispatching', 'submitted', 'running')) AS open,
              (SELECT COUNT(*) FROM tasks WHERE status IN ('submitted', 'running') AND next_action_at <= now()) AS due`,
    );
    if (!open.rows[0]!.open) break;
    samples.due_unclaimed.push(Number(open.rows[0]!.due));
    samples.poll_slots_busy.push(workers.reduce((sum, worker) => sum + worker.polling.inFlight, 0));
    samples.dispatch_slots_busy.push(workers.reduce((sum, worker) => sum + worker.dispatching.inFlight, 0));
    if (Date.now() - runStarted > 10 * 60_000) throw new Error('bench did not finish in 10 minutes');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const runMs = Date.now() - runStarted;
  const loopBusy = performance.eventLoopUtilization(loopStarted).utilization;
  for (const worker of workers) await worker.stop();
  loopDelay.disable();

  const rows = await db.query<{ id: string; status: string; submitted_at: Date; completed_at: Date }>('SELECT id, status, submitted_at, completed_at FROM tasks');
  const lags = rows.rows.filter((row) => row.submitted_at).map((row) => row.completed_at.getTime() - row.submitted_at.getTime() - QUEUED_MS - RUNNING_MS).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const row of rows.rows) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  const lastRead = { began_late: [] as number[], budget_wait: [] as number[], upstream_answer: [] as number[], answer_to_commit: [] as number[] };
  const readsPerTask: number[] = [];
  // Each task's lag less the time its noticing read waited for the channel's budget: the lag the budget did not force.
  const beyondBudget: number[] = [];
  for (const row of rows.rows) {
    const calls = trace.reads.get(row.id) ?? [];
    readsPerTask.push(calls.length);
    const last = calls.at(-1);
    if (!last || !row.submitted_at) continue;
    beyondBudget.push(row.completed_at.getTime() - row.submitted_at.getTime() - QUEUED_MS - RUNNING_MS - (last.sent - last.asked));
    lastRead.began_late.push(last.began - (row.submitted_at.getTime() + QUEUED_MS + RUNNING_MS));
    lastRead.budget_wait.push(last.sent - last.asked);
    lastRead.upstream_answer.push(last.answered - last.sent);
    lastRead.answer_to_commit.push(row.completed_at.getTime() - last.answered);
  }
  const { requests, loopBusy: mockBusy } = await mock.stats();
  const upstreamRequests = Object.values(requests).reduce((sum, count) => sum + count, 0);
  const floor = QUEUED_MS + RUNNING_MS;
  console.log(JSON.stringify({
    tasks: TASKS, workers: WORKERS, requests_per_second: BUDGET, dispatch_hold_ms: Number(HOLD), adaptive_polling: PACING !== "false", statuses, create_ms: createMs, creates_per_second: Math.round((TASKS / createMs) * 1000),
    run_ms: runMs, upstream_floor_ms: floor, run_over_floor_ratio: Number((runMs / floor).toFixed(2)),
    scheduling_lag_ms: { p50: percentile(lags, 50), p90: percentile(lags, 90), p99: percentile(lags, 99), max: lags.at(-1) ?? 0 },
    lag_beyond_budget_wait_ms: spread(beyondBudget),
    upstream_status_requests: requests,
    diagnosis: {
      budget_floor_ms: Math.round((upstreamRequests / BUDGET) * 1000),
      all_submitted_after_ms: Math.max(...rows.rows.map((row) => row.submitted_at?.getTime() ?? 0)) - runStarted,
      status_reads_per_task: spread(readsPerTask),
      create_budget_wait_ms: spread(trace.creates.map((call) => call.sent - call.asked)),
      last_read_ms: Object.fromEntries(Object.entries(lastRead).map(([part, values]) => [part, spread(values)])),
      group_commit: { submitted: deps.tasks.submittedGroups.stats, observe: deps.tasks.observeGroups.stats, resolve: deps.wallet.resolveGroups.stats, file: deps.media.fileGroups.stats },
      sampled_every_200ms: Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, spread(values)])),
      event_loop_utilization: Number(loopBusy.toFixed(2)),
      mock_event_loop_utilization: Number(mockBusy.toFixed(2)),
      event_loop_delay_ms: { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
    },
  }, null, 2));
  await deps.close();
  await db.close();
  await mock.close();
  console.log(await tableActivity(name, TASKS));
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  rmSync(dataDir, { recursive: true, force: true });
}

(isMainThread ? main() : serveUpstream()).catch((error) => {
  console.error(error);
  process.exit(1);
});
