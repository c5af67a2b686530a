/**
 * Peer benchmark (issue 14): `npm run bench:peers`. In one run, each as its own process started the way its users
 * start it, on loopback:
 *
 *   - a trivial OpenAI-style upstream (the test suite's chat mock, bench/peers-mock.ts), measured direct;
 *   - a minimal node:http pass-through proxy in front of it (bench/peers-proxy.ts), the floor any gateway pays;
 *   - a Fastify + undici JSON proxy (bench/peers-fastify.ts): genrelay's two HTTP libraries parsing and re-serialising
 *     the JSON, with no authentication, routing, validation, billing or logging — the floor of a gateway built on them;
 *   - the Portkey OSS gateway, pinned at 1.15.2, installed from npm into a scratch folder (no auth, no billing);
 *   - genrelay as `npm start` starts it (its environment settings and Node flags, `npmStart`) on the embedded default
 *     (fresh DATA_DIR), on the embedded engine on a thread of its own (EMBEDDED_DB_THREAD=true, another fresh DATA_DIR) and on PostgreSQL (a fresh database, dropped
 *     at the end), set up through the operator API: a channel to the mock for `grok-4-fast`, a
 *     customer with a live key and a grant, so every request is authenticated, reserved, settled and billed;
 *
 * billed chat completions, non-streaming and streaming, at 1 and 50 connections (autocannon, BENCH_SECONDS per point,
 * default 8), then task creation (`POST /v1/videos`, test mode on the sandbox, one customer, 32 connections,
 * PostgreSQL, GENRELAY_ROLE=api) against a raw-SQL baseline (pgbench, 32 clients, one guarded UPDATE of one wallet row
 * plus one INSERT per transaction, same database). After every genrelay point the ledger invariants are checked
 * (findInvariantViolations; the embedded database is read after a graceful stop, then the server starts again).
 *
 * Prints one table of absolute figures and the ratios issue 14 asks for. Mean latency is derived from throughput
 * (Little's law: connections ÷ requests per second), because autocannon records latencies in whole milliseconds;
 * p99 is autocannon's. Client, servers and PostgreSQL share the machine's cores: compare figures of one run.
 *
 * Env: BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (1: unmeasured windows of load at 10 connections, repeated until two
 * in a row agree within 15 % (at most 10), per kind of answer before a target's first point and before each point
 * that follows a restart; 0 turns warm-up off), BENCH_PORTKEY_DIR (where Portkey is installed;
 * default <tmp>/genrelay-bench-portkey-1.15.2, reused), TEST_DATABASE_URL (PostgreSQL admin URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_JSON (also write the figures there), BENCH_KEEP=1 (keep the
 * scratch folder with every process's log). Needs `pgbench` on PATH (it comes with PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { openDb, type Db } from '../src/db/pool.js';
import { findInvariantViolations } from '../src/modules/wallet/invariants.js';
import { adminQuery, databaseUrl } from '../test/harness/databases.js';
import { cpuPerRequestMs, cpuSeconds, freePort, hasPgbench, npmStart, operatorApi, installPortkey, pgbench, readyLine, start, stop, stopAll, waitHttp, type Started } from './peers-procs.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const PORTKEY_VERSION = '1.15.2';
const TASK_CONNECTIONS = 32;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OPERATOR_KEY = `bench-operator-${randomBytes(16).toString('hex')}`;
const MASTER_KEY = `bench-master-${randomBytes(24).toString('hex')}`;
const PROMPT = 'Say three short words.';
const CHAT_MODEL = 'grok-4-fast';
const TASK_MODEL = 'seedance-2.0-fast';
const FRAMEWORK = 'Fastify + undici JSON proxy';
const EMBEDDED_THREAD = 'genrelay, embedded, EMBEDDED_DB_THREAD';

interface Figures {
  requestsPerSecond: number;
  meanMs: number;
  p99Ms: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  failed: number;
  /** Requests answered (any status). */
  completed: number;
}

/**
 * CPU per answered request while a point ran, in ms (user + system, from /proc): `target` is the measured process
 * (for the mock direct, the mock itself), `mock` the upstream behind it, `client` this process (autocannon),
 * `postgres` all of PostgreSQL's processes, `machine busy` the whole machine (steal included).
 */
type CpuSplit = Record<string, number>;

interface ChatPoint extends Figures {
  target: string;
  stream: boolean;
  connections: number;
  ledger: string;
  cpu: CpuSplit;
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  model: string;
  /** The process serving it now (it changes when a ledger check restarts the server). */
  pid: () => number | undefined;
  /** The target is the mock itself (no upstream behind it). */
  direct?: boolean;
  /** Checks the ledger after a point (genrelay only; `last`: the target's last point); returns 'ok' or what is wrong. */
  ledger?: (last: boolean) => Promise<string>;
  /** Set when the ledger check restarted the server: the next point warms it up first. */
  cold?: boolean;
}

async function load(url: string, headers: Record<string, string>, body: unknown, connections: number, seconds: number): Promise<Figures> {
  const result = await autocannon({
    url, method: 'POST', connections, duration: seconds,
    headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  const completed = result.requests.total;
  const elapsed = result.duration;
  return {
    requestsPerSecond: result['2xx'] / elapsed,
    meanMs: completed > 0 ? (connections * 1000 * elapsed) / completed : NaN,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    completed,
  };
}

/**
 * Unmeasured load until the target is steady: windows of WARMUP_SECONDS at 10 connections until two in a row agree
 * within 15 % on req/s (at most 10 windows). A freshly (re)started genrelay answers its first requests far slower.
 */
async function warmUp(target: Target, stream: boolean): Promise<void> {
  let previous = 0;
  for (let round = 0; WARMUP_SECONDS > 0 && round < 10; round += 1) {
    const { requestsPerSecond } = await load(target.url, target.headers, chatBody(target.model, stream), 10, WARMUP_SECONDS);
    if (previous > 0 && Math.abs(requestsPerSecond - previous) <= 0.15 * previous) return;
    previous = requestsPerSecond;
  }
}

function chatBody(model: string, stream: boolean) {
  return { model, messages: [{ role: 'user', content: PROMPT }], stream };
}

/** One request of each kind first, so a misconfigured peer fails loudly instead of measuring errors. */
async function probe(target: Target): Promise<void> {
  for (const stream of [false, true]) {
    const response = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body: JSON.stringify(chatBody(target.model, stream)) });
    const text = await response.text();
    const good = response.status === 200 && (stream ? text.includes('data: [DONE]') : text.includes('"choices"'));
    if (!good) throw new Error(`${target.name} ${stream ? 'streaming' : 'non-streaming'} probe answered ${response.status}: ${text.slice(0, 400)}`);
  }
}

const operator = operatorApi(OPERATOR_KEY);

/** A customer with one key in `mode` and a grant, through the operator API. */
async function customerWithKey(base: string, name: string, mode: 'live' | 'test'): Promise<{ key: string; customerId: string }> {
  const customer = await operator(base, 'POST', '/api/public/customers', { name });
  const key = await operator(base, 'POST', `/api/public/customers/${customer.id}/api-keys`, { name: 'bench', mode });
  await operator(base, 'POST', `/api/public/customers/${customer.id}/credits`, { amount: 1_000_000_000_000, reason: 'bench grant', mode });
  return { key: key.key as string, customerId: customer.id as string };
}

/**
 * Waits (up to 15 s) until the customer's live wallet holds nothing: requests autocannon cut off at the end of a
 * point are still being answered upstream and settled. Read through the operator API (the embedded database is the
 * server's alone while it runs).
 */
async function drained(base: string, customerId: string): Promise<void> {
  // Three quiet reads in a row: a cut-off request may still be queued for its reservation behind the first read.
  let quiet = 0;
  for (let attempt = 0; attempt < 75 && quiet < 3; attempt += 1) {
    const customer = await operator(base, 'GET', `/api/public/customers/${customerId}`);
    quiet = Number(customer.credits.live.reserved) === 0 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** genrelay's chat setup: a channel to the mock for the chat model, one account, a customer with a live key. */
async function setupChat(base: string, mockBase: string): Promise<{ key: string; customerId: string }> {
  const channel = await operator(base, 'POST', '/api/admin/channels', {
    name: 'bench mock', provider: 'openai-compatible', base_url: mockBase, models: { [CHAT_MODEL]: 'mock-chat' }, settings: { requests_per_second: 1_000_000 },
  });
  await operator(base, 'POST', '/api/accounts', { channel_id: channel.id, credential: 'bench-upstream-key', label: 'bench' });
  return customerWithKey(base, 'bench chat', 'live');
}

/**
 * Every ledger invariant, and for chat no hold left once its requests ended: `wait` gives requests autocannon cut off
 * at the end of a point up to 10 s to settle, `now` expects none (after a graceful stop), `ignore` skips the count
 * (task creation leaves its holds held: no worker runs).
 */
async function ledgerReport(db: Db, holds: 'wait' | 'now' | 'ignore'): Promise<string> {
  let held = 0;
  for (let attempt = 0; holds !== 'ignore'; attempt += 1) {
    const result = await db.query<{ held: bigint }>("SELECT COUNT(*) AS held FROM reservations WHERE status = 'held'");
    held = Number(result.rows[0]!.held);
    if (held === 0 || holds === 'now' || attempt >= 100) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Holds left are not a money error (the sweeper releases an abandoned chat hold, T15), only worth a note.
  const violations = Object.keys(await findInvariantViolations(db));
  const state = violations.length ? violations.map((name) => `violated ${name}`).join(', ') : 'ok';
  return held > 0 ? `${state}, ${held} holds left` : state;
}

function fixed(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ms(value: number): string {
  return !Number.isFinite(value) ? '–' : value < 10 ? fixed(value, 2) : fixed(value, value < 100 ? 1 : 0);
}

async function main(): Promise<void> {
  if (!hasPgbench()) throw new Error('pgbench is not on PATH (it is installed with PostgreSQL)');
  const scratch = mkdtempSync(join(tmpdir(), 'genrelay-bench-peers-'));
  const logDir = join(scratch, 'logs');
  mkdirSync(logDir);
  let keep = process.env.BENCH_KEEP === '1';
  const databaseName = `gr_bench_peers_${randomBytes(4).toString('hex')}`;
  let databaseCreated = false;
  const startedAt = Date.now();
  const loadBefore = loadavg();
  const points: ChatPoint[] = [];
  try {
    const portkeyDir = process.env.BENCH_PORTKEY_DIR ?? join(tmpdir(), `genrelay-bench-portkey-${PORTKEY_VERSION}`);
    const portkeyScript = installPortkey(portkeyDir, PORTKEY_VERSION);
    const inherit = { ...process.env };
    delete inherit.DATABASE_URL;
    delete inherit.GENRELAY_ROLE;
    const spawnOptions = (env: NodeJS.ProcessEnv = inherit) => ({ cwd: ROOT, env, logDir });

    const mock = start('mock', process.execPath, ['--import', 'tsx', 'bench/peers-mock.ts'], spawnOptions());
    const mockBase = await readyLine(mock);
    const mockOrigin = new URL(mockBase).origin;
    const proxy = start('proxy', process.execPath, ['--import', 'tsx', 'bench/peers-proxy.ts', mockOrigin], spawnOptions());
    const proxyUrl = await readyLine(proxy);
    const framework = start('fastify', process.execPath, ['--import', 'tsx', 'bench/peers-fastify.ts', mockBase], spawnOptions());
    const frameworkUrl = await readyLine(framework);
    const portkeyPort = await freePort();
    const portkey = start('portkey', process.execPath, [portkeyScript, `--port=${portkeyPort}`, '--headless'], { cwd: portkeyDir, env: inherit, logDir });
    await waitHttp(portkey, `http://127.0.0.1:${portkeyPort}/`);

    // genrelay as users start it; the console is served only if this checkout has built it (never built here).
    const genrelayEnv: NodeJS.ProcessEnv = {
      ...inherit, OPERATOR_API_KEY: OPERATOR_KEY, GENRELAY_MASTER_KEY: MASTER_KEY, DEMO: 'false',
      ...(existsSync(join(ROOT, 'dist', 'console', 'admin', 'index.html')) ? {} : { CONSOLE_DIR: join(scratch, 'no-console') }),
    };
    async function genrelay(name: string, env: NodeJS.ProcessEnv, port?: number): Promise<{ started: Started; base: string; port: number }> {
      port ??= await freePort();
      const npm = npmStart(ROOT, { ...genrelayEnv, ...env });
      const started = start(name, process.execPath, npm.args, spawnOptions({ ...genrelayEnv, ...env, ...npm.env, PORT: String(port) }));
      const base = `http://127.0.0.1:${port}`;
      await waitHttp(started, `${base}/readyz`, (status) => status === 200);
      return { started, base, port };
    }

    async function runTarget(target: Target): Promise<void> {
      await probe(target);
      for (const stream of [false, true]) await warmUp(target, stream);
      for (const stream of [false, true]) {
        for (const connections of [1, 50]) {
          if (target.cold) await warmUp(target, stream);
          target.cold = false;
          const pids = () => ({ target: target.pid(), ...(target.direct ? {} : { mock: mock.child.pid }), client: process.pid });
          const before = cpuSeconds(pids());
          const figures = await load(target.url, target.headers, chatBody(target.model, stream), connections, SECONDS);
          const cpu = cpuPerRequestMs(before, cpuSeconds(pids()), figures.completed);
          await fetch(`${mockOrigin}/__mock/reset`, { method: 'POST' }).then((response) => response.arrayBuffer());
          const ledger = target.ledger ? await target.ledger(stream && connections === 50) : 'n/a';
          points.push({ target: target.name, stream, connections, ledger, cpu, ...figures });
          console.error(`${target.name.padEnd(34)} ${stream ? 'stream' : 'json  '} c=${String(connections).padEnd(2)} ${fixed(figures.requestsPerSecond).padStart(7)} req/s  mean ${ms(figures.meanMs)} ms  p99 ${ms(figures.p99Ms)} ms  failed ${figures.failed}  ledger ${ledger}`);
        }
      }
    }

    await runTarget({ name: 'mock, direct', url: `${mockBase}/chat/completions`, headers: { authorization: 'Bearer bench-upstream-key' }, model: 'mock-chat', pid: () => mock.child.pid, direct: true });
    await runTarget({ name: 'minimal Node proxy', url: `${proxyUrl}/v1/chat/completions`, headers: { authorization: 'Bearer bench-upstream-key' }, model: 'mock-chat', pid: () => proxy.child.pid });
    await runTarget({ name: FRAMEWORK, url: `${frameworkUrl}/v1/chat/completions`, headers: { authorization: 'Bearer bench-upstream-key' }, model: 'mock-chat', pid: () => framework.child.pid });
    await runTarget({
      name: `Portkey OSS gateway ${PORTKEY_VERSION}`, url: `http://127.0.0.1:${portkeyPort}/v1/chat/completions`, model: 'mock-chat', pid: () => portkey.child.pid,
      headers: { authorization: 'Bearer bench-upstream-key', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': mockBase },
    });
    await stop(portkey);
    await stop(framework);
    await stop(proxy);

    // genrelay, embedded: the database is PGlite in DATA_DIR, one process; read after a graceful stop. The default
    // runs PGlite on the server's thread; EMBEDDED_DB_THREAD=true on a worker thread of its own.
    async function runEmbedded(name: string, folder: string, thread: boolean): Promise<void> {
      const dataDir = join(scratch, folder);
      const embeddedEnv = { DATA_DIR: dataDir, EMBEDDED_DB_THREAD: String(thread) };
      let embedded = await genrelay(folder, embeddedEnv);
      const embeddedCustomer = await setupChat(embedded.base, mockBase);
      const embeddedTarget: Target = {
        name, url: `${embedded.base}/v1/chat/completions`, headers: { authorization: `Bearer ${embeddedCustomer.key}` }, model: CHAT_MODEL,
        pid: () => embedded.started.child.pid,
        ledger: async (last) => {
          // PGlite is one process's: let cut-off requests settle, stop the server gracefully, read, start it again.
          await drained(embedded.base, embeddedCustomer.customerId);
          await stop(embedded.started);
          const lite = await openDb({ databaseUrl: null, dataDir });
          try {
            return await ledgerReport(lite, 'now');
          } finally {
            await lite.close();
            if (!last) {
              embedded = await genrelay(folder, embeddedEnv, embedded.port);
              embeddedTarget.cold = true;
            }
          }
        },
      };
      await runTarget(embeddedTarget);
      await stop(embedded.started);
    }
    await runEmbedded('genrelay, embedded default', 'genrelay-embedded', false);
    await runEmbedded(EMBEDDED_THREAD, 'genrelay-embedded-thread', true);

    // genrelay on PostgreSQL: a fresh database, migrated by `serve` on its first start.
    await adminQuery(`CREATE DATABASE ${databaseName}`);
    databaseCreated = true;
    const url = databaseUrl(databaseName);
    const pgEnv = { DATABASE_URL: url, DATA_DIR: join(scratch, 'postgres-files') };
    const server = await genrelay('genrelay-postgres', pgEnv);
    const pgCustomer = await setupChat(server.base, mockBase);
    const db = await openDb({ databaseUrl: url, dataDir: '', poolSize: 2 });
    try {
      await runTarget({
        name: 'genrelay, PostgreSQL', url: `${server.base}/v1/chat/completions`, headers: { authorization: `Bearer ${pgCustomer.key}` }, model: CHAT_MODEL,
        pid: () => server.started.child.pid,
        ledger: () => ledgerReport(db, 'wait'),
      });
      await stop(server.started);
      await stop(mock);

      // Task creation: an API-only process on the same database, one customer, test mode (the sandbox; no worker).
      const api = await genrelay('genrelay-api', { ...pgEnv, GENRELAY_ROLE: 'api', MAX_QUEUED_PER_MODEL: '10000000' });
      const taskKey = (await customerWithKey(api.base, 'bench tasks', 'test')).key;
      const taskBody = { model: TASK_MODEL, prompt: 'bench clip', seconds: 4 };
      const first = await fetch(`${api.base}/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${taskKey}`, 'content-type': 'application/json' }, body: JSON.stringify(taskBody) });
      if (first.status !== 202) throw new Error(`POST /v1/videos probe answered ${first.status}: ${await first.text()}`);
      if (WARMUP_SECONDS > 0) await load(`${api.base}/v1/videos`, { authorization: `Bearer ${taskKey}` }, taskBody, TASK_CONNECTIONS, WARMUP_SECONDS);
      const tasksPids = () => ({ target: api.started.child.pid, client: process.pid });
      const tasksBefore = cpuSeconds(tasksPids());
      const tasks = await load(`${api.base}/v1/videos`, { authorization: `Bearer ${taskKey}` }, taskBody, TASK_CONNECTIONS, SECONDS);
      const tasksCpu = cpuPerRequestMs(tasksBefore, cpuSeconds(tasksPids()), tasks.completed);
      const tasksLedger = await ledgerReport(db, 'ignore');
      console.error(`${'genrelay task creation'.padEnd(34)} c=${TASK_CONNECTIONS} ${fixed(tasks.requestsPerSecond).padStart(7)} tasks/s  mean ${ms(tasks.meanMs)} ms  p99 ${ms(tasks.p99Ms)} ms  failed ${tasks.failed}  ledger ${tasksLedger}`);
      await stop(api.started);

      // The raw-SQL baseline on the same database: one guarded UPDATE of one hot wallet row plus one INSERT.
      await db.query('CREATE TABLE bench_wallets (id integer PRIMARY KEY, balance bigint NOT NULL, reserved bigint NOT NULL)');
      await db.query('CREATE TABLE bench_holds (id bigserial PRIMARY KEY, wallet_id integer NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
      await db.query('INSERT INTO bench_wallets VALUES (1, 1000000000000000, 0)');
      const script = join(scratch, 'reserve.sql');
      writeFileSync(script, [
        'BEGIN;',
        'UPDATE bench_wallets SET reserved = reserved + 100 WHERE id = 1 AND balance - reserved >= 100;',
        'INSERT INTO bench_holds (wallet_id, amount) VALUES (1, 100);',
        'COMMIT;',
        '',
      ].join('\n'));
      const baseline = pgbench(url, script, TASK_CONNECTIONS, SECONDS, join(scratch, 'pgbench'));
      console.error(`${'raw SQL baseline (pgbench)'.padEnd(34)} c=${TASK_CONNECTIONS} ${fixed(baseline.tps).padStart(7)} tx/s  mean ${ms(baseline.meanMs)} ms  p99 ${ms(baseline.p99Ms)} ms`);

      report(points, { ...tasks, cpu: tasksCpu }, tasksLedger, baseline, { loadBefore, seconds: Math.round((Date.now() - startedAt) / 1000) });
      if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ seconds_per_point: SECONDS, machine: machine(), points, tasks: { ...tasks, cpu: tasksCpu, ledger: tasksLedger }, baseline }, null, 2));
      const broken = [...points.map((point) => point.ledger), tasksLedger].filter((ledger) => ledger.includes('violated'));
      if (broken.length > 0) {
        keep = true;
        throw new Error(`ledger check failed after ${broken.length} point(s): ${broken.join('; ')}`);
      }
    } finally {
      await db.close();
    }
  } catch (error) {
    keep = true;
    throw error;
  } finally {
    await stopAll();
    if (databaseCreated) await adminQuery(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => {});
    if (keep) console.error(`scratch folder (process logs): ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}, ${process.platform}`;
}

function report(points: ChatPoint[], tasks: Figures & { cpu: CpuSplit }, tasksLedger: string, baseline: { tps: number; meanMs: number; p99Ms: number }, run: { loadBefore: number[]; seconds: number }): void {
  const find = (target: string, stream: boolean, connections: number) => points.find((point) => point.target === target && point.stream === stream && point.connections === connections);
  const targets = [...new Set(points.map((point) => point.target))];
  const lines: string[] = [];
  lines.push('');
  lines.push(`Peer benchmark, ${SECONDS} s per point, one run (${run.seconds} s in all); ${machine()}; load average before ${run.loadBefore.map((value) => value.toFixed(2)).join(' ')}, after ${loadavg().map((value) => value.toFixed(2)).join(' ')}.`);
  lines.push('Billed chat completions against a trivial OpenAI-style mock (mean = connections ÷ req/s; p99 from autocannon, whole ms).');
  lines.push('');
  lines.push('| target | answer | c=1 req/s | c=1 mean ms | c=1 p99 ms | c=50 req/s | c=50 mean ms | c=50 p99 ms | failed | ledger |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const target of targets) {
    for (const stream of [false, true]) {
      const one = find(target, stream, 1);
      const fifty = find(target, stream, 50);
      if (!one || !fifty) continue;
      const ledger = [...new Set([one.ledger, fifty.ledger])].join(', ');
      lines.push(`| ${target} | ${stream ? 'stream' : 'json'} | ${fixed(one.requestsPerSecond)} | ${ms(one.meanMs)} | ${ms(one.p99Ms)} | ${fixed(fifty.requestsPerSecond)} | ${ms(fifty.meanMs)} | ${ms(fifty.p99Ms)} | ${one.failed + fifty.failed} | ${ledger} |`);
    }
  }
  lines.push('');
  lines.push(`| task creation, one customer, ${TASK_CONNECTIONS} connections, PostgreSQL | per s | mean ms | p99 ms | failed | ledger |`);
  lines.push('|---|---|---|---|---|---|');
  lines.push(`| genrelay \`POST /v1/videos\` (GENRELAY_ROLE=api, test mode) | ${fixed(tasks.requestsPerSecond)} | ${ms(tasks.meanMs)} | ${ms(tasks.p99Ms)} | ${tasks.failed} | ${tasksLedger} |`);
  lines.push(`| raw SQL: guarded UPDATE of one wallet row + INSERT (pgbench) | ${fixed(baseline.tps)} | ${ms(baseline.meanMs)} | ${ms(baseline.p99Ms)} | – | – |`);
  lines.push('');
  // Where the two cores went: CPU per answered request of each process while the point ran.
  const cpu = (split: CpuSplit, name: string) => (split[name] === undefined ? '–' : split[name]!.toFixed(3));
  lines.push('CPU per answered request while each point ran, ms (user + system from /proc; the machine\'s figure includes steal):');
  lines.push('');
  lines.push('| target | answer | connections | its process | mock | client | PostgreSQL | whole machine |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const target of targets) {
    for (const stream of [false, true]) {
      for (const connections of [1, 50]) {
        const point = find(target, stream, connections);
        if (point) lines.push(`| ${target} | ${stream ? 'stream' : 'json'} | ${connections} | ${cpu(point.cpu, 'target')} | ${cpu(point.cpu, 'mock')} | ${cpu(point.cpu, 'client')} | ${cpu(point.cpu, 'postgres')} | ${cpu(point.cpu, 'machine busy')} |`);
      }
    }
  }
  lines.push(`| genrelay task creation | – | ${TASK_CONNECTIONS} | ${cpu(tasks.cpu, 'target')} | – | ${cpu(tasks.cpu, 'client')} | ${cpu(tasks.cpu, 'postgres')} | ${cpu(tasks.cpu, 'machine busy')} |`);
  lines.push('');
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
  const portkey = `Portkey OSS gateway ${PORTKEY_VERSION}`;
  // Issue 14's goals: requests/s at c=50 as a multiple of Portkey's; `postgres`: PostgreSQL is its own process.
  const goals = [{ name: 'genrelay, PostgreSQL', goal: 5, postgres: true }, { name: 'genrelay, embedded default', goal: 3, postgres: false }, { name: EMBEDDED_THREAD, goal: 3, postgres: false }];
  // The floors on the same scale: how far above Portkey a gateway could get in this run if it did nothing but relay
  // (the host's spell moves them as much as genrelay's ratio).
  for (const floor of ['minimal Node proxy', FRAMEWORK]) {
    lines.push(`- ${floor} ÷ Portkey, req/s at c=50 (no authentication, billing or database): json ${ratio(find(floor, false, 50)?.requestsPerSecond, find(portkey, false, 50)?.requestsPerSecond)}, stream ${ratio(find(floor, true, 50)?.requestsPerSecond, find(portkey, true, 50)?.requestsPerSecond)}`);
  }
  for (const { name, goal } of goals) {
    lines.push(`- ${name} ÷ Portkey, req/s at c=50: json ${ratio(find(name, false, 50)?.requestsPerSecond, find(portkey, false, 50)?.requestsPerSecond)}, stream ${ratio(find(name, true, 50)?.requestsPerSecond, find(portkey, true, 50)?.requestsPerSecond)} (goal ≥ ${goal}×)`);
  }
  for (const name of ['genrelay, embedded default', EMBEDDED_THREAD, 'genrelay, PostgreSQL']) {
    const added = (stream: boolean) => {
      const own = find(name, stream, 1)?.meanMs;
      const floor = find('minimal Node proxy', stream, 1)?.meanMs;
      return own !== undefined && floor !== undefined ? `${(own - floor).toFixed(2)} ms` : '–';
    };
    lines.push(`- ${name}: added mean latency at c=1 over the minimal proxy: json ${added(false)}, stream ${added(true)} (goal ≤ 1 ms)`);
  }
  // The budget a ratio leaves: at goal × Portkey's rate, each request gets cores ÷ rate of CPU for everything.
  for (const { name, goal, postgres } of goals) {
    const peer = find(portkey, false, 50)?.requestsPerSecond;
    const own = find(name, false, 50)?.cpu;
    if (!peer || !own) continue;
    const budget = (cpus().length * 1000) / (goal * peer);
    const others = (own.mock ?? 0) + (own.client ?? 0);
    const floor = find(FRAMEWORK, false, 50);
    const floorText = floor ? `; the ${FRAMEWORK}'s own process took ${cpu(floor.cpu, 'target')} at its json c=50 point (${fixed(floor.requestsPerSecond)} req/s)` : '';
    lines.push(`- budget at ${goal}× Portkey's json rate (${fixed(goal * peer)} req/s on ${cpus().length} cores): ${budget.toFixed(3)} ms of CPU per request in all; at ${name}'s json c=50 point the mock and the client took ${others.toFixed(3)}, genrelay's process ${cpu(own, 'target')}${postgres ? `, PostgreSQL ${cpu(own, 'postgres')}` : ''}${floorText}`);
  }
  lines.push(`- task creation ÷ raw SQL baseline: ${baseline.tps > 0 ? `${((tasks.requestsPerSecond / baseline.tps) * 100).toFixed(0)} %` : '–'} (goal ≥ 90 %, then ≥ 5,000 tasks/s)`);
  console.log(lines.join('\n'));
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('interrupted: stopping the peers …');
  void stopAll().finally(() => process.exit(130));
});

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
