import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig, type Config } from '../../src/config/index.js';
import { loadSecrets } from '../../src/config/secrets.js';
import { buildDeps, type Deps } from '../../src/deps.js';
import { buildServer } from '../../src/http/server.js';
import type { App } from '../../src/http/app-type.js';
import { ManualClock } from '../../src/lib/clock.js';
import { findInvariantViolations } from '../../src/modules/wallet/invariants.js';
import { Worker } from '../../src/worker/worker.js';
import { createTestDatabase, testEngine, type TestDatabase, type TestEngine } from './databases.js';

/** The app on a random loopback port against a fresh test database, with a manual clock and helpers. */
export const OPERATOR_KEY = 'test-operator-key-0123456789abcdef';

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  key?: string;
  operator?: boolean;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestApp {
  baseUrl: string;
  deps: Deps;
  app: App;
  clock: ManualClock;
  database: TestDatabase;
  /** Background loops, not started: tests drive them with `worker.drain()` and the manual clock. */
  worker: Worker;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  createCustomer(body?: Record<string, unknown>): Promise<any>;
  createKey(customerId: string, body?: Record<string, unknown>): Promise<{ id: string; key: string; [field: string]: any }>;
  grant(customerId: string, amount: number, mode?: 'live' | 'test'): Promise<void>;
  invariants(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  engine?: TestEngine;
  env?: Record<string, string>;
  /** Reuse an existing database (a second process on the same PostgreSQL database). */
  database?: TestDatabase;
  poolSize?: number;
  /** The embedded engine on a thread of its own (EMBEDDED_DB_THREAD). */
  thread?: boolean;
  /** Receives every log line (debug level), for tests that inspect logs. */
  logStream?: { write(line: string): void };
}

/** A free loopback port, so PUBLIC_BASE_URL (signed file links) can name it before the app listens. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsDatabase = options.database === undefined;
  const database = options.database ?? (await createTestDatabase(options.engine ?? testEngine(), options.poolSize, options.thread));
  const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-app-'));
  const config: Readonly<Config> = parseConfig({
    DATA_DIR: dataDir,
    OPERATOR_API_KEY: OPERATOR_KEY,
    GENRELAY_MASTER_KEY: 'test-master-key-0123456789abcdef0123456789',
    DEMO: 'false',
    PORT: String(await freePort()),
    SANDBOX_QUEUE_MS: '1000',
    SANDBOX_RUN_MS: '1000',
    POLL_INTERVAL_MS: '0',
    // Tests open many console pre-sessions from loopback within seconds: the per-IP limit on them (SEMANTICS A13) is
    // off unless a test sets it (console-presession-limit.test.ts).
    CONSOLE_PRESESSIONS_PER_MINUTE: '0',
    SAFE_FETCH_TRUSTED_HOSTS: '127.0.0.1',
    // Every test request runs in a commit scope, so an internal error after a commit is counted wherever it happens.
    TRACK_COMMITS: 'true',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  const clock = new ManualClock(Date.now());
  const deps = await buildDeps(config, loadSecrets(config), {
    db: database.db,
    clock,
    logger: options.logStream ? pino({ level: 'debug' }, options.logStream) : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    skipMigrations: true,
  });
  await deps.catalog.seedDefaults();
  const app = buildServer(deps);
  await app.listen({ port: config.port, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${config.port}`;
  const worker = new Worker(deps);

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    if (opts.operator) headers.authorization = `Bearer ${OPERATOR_KEY}`;
    let payload: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, body: body as T, text };
  }

  const testApp: TestApp = {
    baseUrl,
    deps,
    app,
    clock,
    database,
    worker,
    request,
    async createCustomer(body = {}) {
      // A customer's group must exist (SEMANTICS M10): a group the test names is created at 100 % if it is new.
      if (typeof body.group === 'string' && body.group !== 'default') {
        const group = await request('POST', '/api/admin/groups', { operator: true, body: { id: body.group } });
        if (group.status !== 201 && group.status !== 409) throw new Error(`createCustomer: group ${group.status} ${group.text}`);
      }
      const response = await request('POST', '/api/public/customers', { operator: true, body: { name: 'Customer', ...body } });
      if (response.status !== 201) throw new Error(`createCustomer failed: ${response.status} ${response.text}`);
      return response.body;
    },
    async createKey(customerId, body = {}) {
      const response = await request('POST', `/api/public/customers/${customerId}/api-keys`, {
        operator: true,
        body: { name: 'key', mode: 'live', ...body },
      });
      if (response.status !== 201) throw new Error(`createKey failed: ${response.status} ${response.text}`);
      return response.body as { id: string; key: string; [field: string]: any };
    },
    async grant(customerId, amount, mode = 'live') {
      const response = await request('POST', `/api/public/customers/${customerId}/credits`, {
        operator: true,
        body: { amount, reason: 'test grant', mode },
      });
      if (response.status !== 201) throw new Error(`grant failed: ${response.status} ${response.text}`);
    },
    invariants: () => findInvariantViolations(database.db),
    async close() {
      await worker.stop();
      await app.close();
      await deps.close();
      if (ownsDatabase) await database.drop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testApp;
}
