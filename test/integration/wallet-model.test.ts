import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { loadSecrets } from '../../src/config/secrets.js';
import { buildDeps, type Deps } from '../../src/deps.js';
import { ManualClock } from '../../src/lib/clock.js';
import { AppError } from '../../src/lib/errors.js';
import { atPercent, holdFor } from '../../src/modules/catalog/pricing.js';
import type { Principal } from '../../src/modules/keys/authenticator.js';
import type { TopupOrderRow } from '../../src/modules/payments/types.js';
import { findInvariantViolations } from '../../src/modules/wallet/invariants.js';
import type { LeaseAdmission } from '../../src/modules/wallet/leases.js';
import { createTask, normalizeParams } from '../../src/workflows/create-task.js';
import { creditWallet } from '../../src/workflows/credits.js';
import { createCustomer } from '../../src/workflows/customers.js';
import { createKey } from '../../src/workflows/keys.js';
import { sweep } from '../../src/workflows/sweep.js';
import { createTopup } from '../../src/workflows/topups.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../harness/databases.js';

/**
 * The wallet's model-based test (issue 14): seeded random sequences of top-up orders and their crediting, operator
 * grants and adjustments, reservations (task creation, one at a time and in concurrent bursts), settlements, releases
 * (and a settlement racing a release), sweeps, simulated process crashes and clock jumps run against the real
 * workflows and database of this engine, and against a plain in-memory model of
 * balance and reserved per wallet. After every step the database must equal the model (wallets, holds, tasks, key
 * slots, orders) and every ledger invariant must hold (findInvariantViolations).
 *
 * Runs × steps: WALLET_MODEL_RUNS × WALLET_MODEL_STEPS (default 200 × 50, the issue-14 bar, in every `npm test`;
 * fewer runs for a quick local loop). The seed is printed first; a failure prints fast-check's seed and path, and
 * WALLET_MODEL_SEED=<seed> (with WALLET_MODEL_PATH=<path> for the one failing case) replays it. WALLET_MODEL_SHRINK=1
 * shrinks a failure (each shrink step is a full run against the database, so it is off by default).
 *
 * The crash step discards the app, its deps and every in-memory cache and starts a new one on the same database, as
 * the other crash tests do. On PostgreSQL a transaction is in flight when it happens (a top-up credit and a task
 * reservation on their own connection, the connection then cut before COMMIT): nothing of it may remain. PGlite is
 * one in-process session, so there the in-flight transaction is rolled back by an error instead of a cut connection.
 */
const ENGINE = testEngine();
const RUNS = Number(process.env.WALLET_MODEL_RUNS ?? 200);
const STEPS = Number(process.env.WALLET_MODEL_STEPS ?? 50);
const SEED = process.env.WALLET_MODEL_SEED !== undefined ? Number(process.env.WALLET_MODEL_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const PATH = process.env.WALLET_MODEL_PATH;
const SHRINK = process.env.WALLET_MODEL_SHRINK === '1';

const EVM_ADDRESS = '0x2222222222222222222222222222222222222222';
const ENV = { USDT_EVM_ADDRESSES: EVM_ADDRESS, EVM_RPC_URL: 'http://127.0.0.1:9/evm', EVM_CONFIRMATIONS: '12' };
const MODEL_ID = 'happyhorse-1.0';
const SECONDS = [3, 5, 8] as const;
const ORDER_AMOUNTS = [500n, 1234n, 2000n] as const;
const AUDIT = { actor: 'wallet-model', ip: null, userAgent: null };
const MAX_OPEN_USDT_ORDERS = 5;
/** What a run writes; emptied before each run (the catalogue, the channel and the settings stay). */
const RESET_TABLES = ['ledger_entries', 'reservations', 'webhook_deliveries', 'tasks', 'topup_orders', 'api_keys', 'credit_leases', 'wallets', 'audit_events', 'customers'];

type Mode = 'live' | 'test';
/** Per customer: a live key without a concurrency limit, a live key limited to 2 in flight, a test key. */
const KEYS: Array<{ mode: Mode; maxConcurrency: number | null }> = [
  { mode: 'live', maxConcurrency: null },
  { mode: 'live', maxConcurrency: 2 },
  { mode: 'test', maxConcurrency: null },
];

type Step =
  | { kind: 'grant'; customer: number; mode: Mode; units: number; ref: number | null }
  | { kind: 'adjust'; customer: number; mode: Mode; units: number; ref: number | null }
  | { kind: 'order'; customer: number; amount: number }
  | { kind: 'pay'; order: number; reuseRef: boolean }
  | { kind: 'topup'; customer: number; amount: number }
  | { kind: 'reserve'; customer: number; key: number; seconds: number; idem: number | null; prompt: number }
  | { kind: 'burst'; customer: number; key: 0 | 2; seconds: number; count: number }
  | { kind: 'settle'; hold: number; factor: number }
  | { kind: 'race'; hold: number; factor: number; status: 'failed' | 'cancelled' }
  | { kind: 'release'; hold: number; status: 'failed' | 'cancelled' | 'expired' }
  | { kind: 'sweep' }
  | { kind: 'clock'; ms: number }
  | { kind: 'crash'; inflight: boolean }
  | { kind: 'admit'; customer: number; key: 0 | 2; seconds: number }
  | { kind: 'record'; picks: number[]; factor: number; released: boolean }
  | { kind: 'upkeep' };

// ---- the model -------------------------------------------------------------------------------------------------

interface ModelWallet {
  balance: bigint;
  reserved: bigint;
}

interface ModelHold {
  taskId: string;
  customer: number;
  mode: Mode;
  key: number;
  amount: bigint;
  createdAt: number;
  expiresAt: number;
  status: 'held' | 'settled' | 'released';
  taskStatus: 'queued' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
  charged: bigint;
  idem: string | null;
  fingerprint: string | null;
}

interface ModelOrder {
  id: string;
  customer: number;
  credits: bigint;
  expiresAt: number;
  status: 'pending' | 'expired' | 'paid';
  ref: string | null;
}

/**
 * A credit lease (issue 14) as this model sees it: the instance's view (`granted`, `held`, …, as CreditLeases keeps
 * it) and the database row's (`dbAmount`, null once the row is gone; `dbExpiresAt`).
 */
interface ModelLease {
  wallet: string;
  granted: bigint;
  held: bigint;
  inflight: number;
  lastActive: number;
  expiresAt: number;
  limited: boolean;
  dbAmount: bigint | null;
  dbExpiresAt: number;
}

/** A chat request admitted on a lease and not written yet. */
interface ModelAdmission {
  admission: LeaseAdmission;
  lease: ModelLease;
  customer: number;
  mode: Mode;
  key: number;
  hold: bigint;
}

interface Model {
  now: number;
  /** The running instance's leases by wallet, in the order its book holds them. */
  book: Map<string, ModelLease>;
  /** Every lease whose row may still exist (the instance's and those a crash left behind). */
  leases: ModelLease[];
  admissions: ModelAdmission[];
  wallets: Map<string, ModelWallet>;
  holds: ModelHold[];
  orders: ModelOrder[];
  /** Operator credit references already used, per wallet (M6). */
  creditRefs: Set<string>;
  /** Payment references that credited an order, to the order. */
  paymentRefs: Map<string, string>;
  nextRef: number;
}

const walletKey = (customer: number, mode: Mode) => `${customer}:${mode}`;

// ---- the step arbitrary ----------------------------------------------------------------------------------------

const customerArb = fc.integer({ min: 0, max: 1 });
const modeArb = fc.constantFrom<Mode>('live', 'test');
const refArb = fc.option(fc.integer({ min: 0, max: 2 }), { freq: 2 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('grant' as const), customer: customerArb, mode: modeArb, units: fc.integer({ min: 1, max: 40 }), ref: refArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('adjust' as const), customer: customerArb, mode: modeArb, units: fc.integer({ min: 1, max: 30 }), ref: refArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('order' as const), customer: customerArb, amount: fc.integer({ min: 0, max: ORDER_AMOUNTS.length - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pay' as const), order: fc.nat(), reuseRef: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('topup' as const), customer: customerArb, amount: fc.integer({ min: 0, max: ORDER_AMOUNTS.length - 1 }) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const), customer: customerArb, key: fc.integer({ min: 0, max: KEYS.length - 1 }),
      seconds: fc.constantFrom(...SECONDS), idem: fc.option(fc.integer({ min: 0, max: 2 }), { freq: 2 }), prompt: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const), customer: customerArb, key: fc.constantFrom(0 as const, 2 as const), seconds: fc.constantFrom(...SECONDS), count: fc.integer({ min: 2, max: 8 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('settle' as const), hold: fc.nat(), factor: fc.integer({ min: -1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('race' as const), hold: fc.nat(), factor: fc.integer({ min: 0, max: 12 }), status: fc.constantFrom('failed' as const, 'cancelled' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), hold: fc.nat(), status: fc.constantFrom('failed' as const, 'cancelled' as const, 'expired' as const) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('clock' as const),
      // Mostly forward (seconds to days: past hold expiry, the top-up window, idempotency retention), sometimes back.
      ms: fc.oneof(
        fc.integer({ min: 1_000, max: 600_000 }),
        fc.integer({ min: 600_000, max: 6 * 3_600_000 }),
        fc.integer({ min: 24 * 3_600_000, max: 80 * 3_600_000 }),
        fc.integer({ min: -120_000, max: -1 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), inflight: fc.boolean() }) },
  // Credit leases (issue 14): chat requests admitted on the instance's lease, written once when they end (some at
  // once, so in groups), and the lease upkeep (return when idle or nearly empty, renew before expiry).
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('admit' as const), customer: customerArb, key: fc.constantFrom(0 as const, 2 as const), seconds: fc.constantFrom(...SECONDS) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('record' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), factor: fc.integer({ min: -1, max: 12 }), released: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'upkeep' as const }) },
);

// ---- the system under test -------------------------------------------------------------------------------------

let database: TestDatabase;
/** One genrelay process: its deps (every service and in-memory cache) and its clock; the database outlives it. */
let app: { deps: Deps; clock: ManualClock };
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-wallet-model-'));

/** Starts a process on the shared database, as `genrelay serve` builds it (without the HTTP listener: steps call workflows). */
async function startProcess(at: number): Promise<{ deps: Deps; clock: ManualClock }> {
  const config = parseConfig({
    DATA_DIR: dataDir, OPERATOR_API_KEY: 'wallet-model-operator-key-0123456789', GENRELAY_MASTER_KEY: 'wallet-model-master-key-0123456789abcdef',
    DEMO: 'false', LOG_LEVEL: 'silent', ...(database.url ? { DATABASE_URL: database.url } : {}), ...ENV,
  });
  const clock = new ManualClock(at);
  const deps = await buildDeps(config, loadSecrets(config), { db: database.db, clock, logger: pino({ level: 'silent' }), skipMigrations: true });
  await deps.catalog.seedDefaults();
  return { deps, clock };
}
/** Credits per unit of a grant or adjustment: the hold of the cheapest request, so amounts and holds interleave. */
let unit = 0n;
const costs = new Map<number, bigint>();

interface RunState {
  customers: string[];
  keys: Array<Array<{ id: string; plaintext: string; principal: Principal }>>;
  model: Model;
}

beforeAll(async () => {
  database = await createTestDatabase(ENGINE, 10);
  app = await startProcess(Date.now());
  const channel = await app.deps.channels.createChannel({
    name: 'wallet-model', provider: 'dashscope', base_url: 'http://127.0.0.1:9/api/v1', models: { [MODEL_ID]: 'happyhorse-1.0-t2v' }, settings: {},
  });
  await app.deps.channels.addCredential(channel.id, 'wallet-model-key', 'model');
  const model = await app.deps.catalog.get(MODEL_ID);
  const percent = await app.deps.catalog.percentFor('default');
  for (const seconds of SECONDS) costs.set(seconds, holdFor(atPercent(model, percent), normalizeParams(model, 'video', { seconds, resolution: '720p' })));
  unit = costs.get(SECONDS[0])!;
}, 120_000);

afterAll(async () => {
  await app?.deps.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts a run from empty customer data (catalogue, channel and settings stay) at a fixed clock. */
async function freshRun(start: number): Promise<RunState> {
  // The ledger and the audit log refuse deletes (L7); a test's reset runs with triggers off, in its own transaction.
  await database.db.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    for (const table of RESET_TABLES) await tx.query(`DELETE FROM ${table}`);
  });
  app.clock.set(start);
  const customers: string[] = [];
  const keys: RunState['keys'] = [];
  for (let index = 0; index < 2; index += 1) {
    const customer = await createCustomer(app.deps, { name: `model ${index}`, email: null, status: 'active', group: 'default', plan: {} }, AUDIT);
    customers.push(customer.id);
    const own: RunState['keys'][number] = [];
    for (const spec of KEYS) {
      const key = await createKey(app.deps, {
        customerId: customer.id, name: 'model', mode: spec.mode, scopes: [], allowedModels: null, ipAllowlist: [], rateLimitRpm: null,
        maxConcurrency: spec.maxConcurrency, expiresAt: null, createdBy: 'wallet-model', rotatedFrom: null,
      }, AUDIT);
      own.push({ id: key.row.id, plaintext: key.plaintext, principal: await authenticate(key.plaintext) });
    }
    keys.push(own);
  }
  const wallets = new Map<string, ModelWallet>();
  for (let customer = 0; customer < 2; customer += 1) for (const mode of ['live', 'test'] as const) wallets.set(walletKey(customer, mode), { balance: 0n, reserved: 0n });
  // The instance's lease book refers to the wallets just deleted: it starts empty too.
  app.deps.leases!.forget();
  return {
    customers, keys,
    model: { now: start, wallets, holds: [], orders: [], creditRefs: new Set(), paymentRefs: new Map(), nextRef: 0, book: new Map(), leases: [], admissions: [] },
  };
}

function authenticate(plaintext: string): Promise<Principal> {
  return app.deps.authenticator.authenticate({ authorization: `Bearer ${plaintext}`, apiKeyHeader: undefined }, '127.0.0.1');
}

/** The AppError code `work` throws (its message is logged when a step fails), or null when it succeeds. */
async function errorCode(work: () => Promise<unknown>): Promise<string | null> {
  try {
    await work();
    return null;
  } catch (error) {
    if (error instanceof AppError) {
      lastError = `${error.code}: ${error.message}`;
      return error.code;
    }
    throw error;
  }
}
let lastError = '';

/** The process dies: on PostgreSQL with a transaction in flight on its own connection, cut before COMMIT. */
async function crash(state: RunState, inflight: boolean): Promise<void> {
  const { model } = state;
  const pending = model.orders.find((order) => order.status !== 'paid');
  const now = new Date(model.now);
  if (inflight) {
    const statements: Array<[string, unknown[]]> = [];
    if (pending) statements.push(['SELECT * FROM gr_credit_topup($1, $2, $3, $4)', [pending.id, 'evm_erc20', `0xcrash${model.nextRef++}`, now]]);
    const key = state.keys[0]![0]!;
    statements.push([
      'SELECT id FROM gr_create_task($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
      [app.deps.ids('task'), state.customers[0], 'live', key.id, null, null, null, 0n, now, new Date(model.now + 60_000), new Date(model.now + 120_000), 'video', MODEL_ID, '{}', app.deps.ids('res')],
    ]);
    if (ENGINE === 'postgres') {
      const client = new pg.Client({ connectionString: database.url! });
      client.on('error', () => {});
      await client.connect();
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await client.query('BEGIN');
      for (const [sql, values] of statements) await client.query(sql, values);
      // The process is gone: its socket closes with the transaction open; the server must roll it back.
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      for (let attempt = 0; ; attempt += 1) {
        const alive = await database.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
        if (alive.rows.length === 0) break;
        if (attempt > 500) throw new Error('the cut connection never went away');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } else {
      const cut = new Error('simulated crash');
      await database.db.transaction(async (tx) => {
        for (const [sql, values] of statements) await tx.query(sql, values);
        throw cut;
      }).catch((error) => {
        if (error !== cut) throw error;
      });
    }
  }
  // A killed process gives nothing back: its leases stay until they expire, its admitted requests are never written.
  app.deps.leases!.forget();
  model.book.clear();
  model.admissions = [];
  await app.deps.close();
  app = await startProcess(model.now);
  for (const own of state.keys) for (const key of own) key.principal = await authenticate(key.plaintext);
}

async function applyStep(state: RunState, step: Step): Promise<void> {
  const { model } = state;
  const deps = app.deps;
  switch (step.kind) {
    case 'grant':
    case 'adjust': {
      const wallet = model.wallets.get(walletKey(step.customer, step.mode))!;
      const amount = (step.kind === 'grant' ? 1n : -1n) * BigInt(step.units) * unit;
      const reference = step.ref === null ? null : `ref-${step.ref}`;
      const refKey = `${walletKey(step.customer, step.mode)}:${reference}`;
      const duplicate = reference !== null && model.creditRefs.has(refKey);
      let expected: string | null = null;
      // Leased credit is the customer's: an adjustment it stands in the way of takes the wallet's leases back first.
      const leases = model.leases.filter((lease) => lease.wallet === walletKey(step.customer, step.mode) && lease.dbAmount !== null);
      const leased = leases.reduce((sum, lease) => sum + lease.dbAmount!, 0n);
      if (!duplicate && wallet.balance + amount < wallet.reserved - leased) expected = 'balance_below_reserved';
      let result: Awaited<ReturnType<typeof creditWallet>> | null = null;
      const code = await errorCode(async () => {
        result = await creditWallet(deps, state.customers[step.customer]!, { amount, reason: 'model', reference, mode: step.mode }, AUDIT);
      });
      expect(code, 'credit outcome').toBe(expected);
      if (expected) return;
      expect(result!.duplicate, 'duplicate reference').toBe(duplicate);
      if (duplicate) return;
      if (wallet.balance + amount < wallet.reserved) {
        for (const lease of leases) dropLeaseRow(model, lease);
        leaseCounts.reclaimed += leases.length;
      }
      wallet.balance += amount;
      if (reference !== null) model.creditRefs.add(refKey);
      return;
    }
    case 'order':
    case 'topup': {
      const open = model.orders.filter((order) => order.customer === step.customer && order.status === 'pending').length;
      let order: TopupOrderRow | null = null;
      const code = await errorCode(async () => {
        order = (await createTopup(deps, { customerId: state.customers[step.customer]!, createdBy: 'wallet-model', method: 'usdt_evm', amount: ORDER_AMOUNTS[step.amount]!, idempotencyKey: null })).order;
      });
      expect(code, 'order outcome').toBe(open >= MAX_OPEN_USDT_ORDERS ? 'rate_limited' : null);
      if (code) return;
      const row = order! as TopupOrderRow;
      expect(row.status).toBe('pending');
      expect(BigInt(row.credits) > 0n).toBe(true);
      model.orders.push({ id: row.id, customer: step.customer, credits: BigInt(row.credits), expiresAt: row.expires_at.getTime(), status: 'pending', ref: null });
      if (step.kind === 'topup') await pay(state, model.orders.length - 1, false);
      return;
    }
    case 'pay':
      if (model.orders.length === 0) return;
      await pay(state, step.order % model.orders.length, step.reuseRef);
      return;
    case 'reserve': {
      const spec = KEYS[step.key]!;
      const key = state.keys[step.customer]![step.key]!;
      const cost = costs.get(step.seconds)!;
      const idem = step.idem === null ? null : `idem-${step.idem}`;
      const prompt = `model clip ${step.prompt}`;
      const fingerprint = idem === null ? null : `fp:${prompt}:${step.seconds}`;
      const wallet = model.wallets.get(walletKey(step.customer, spec.mode))!;
      const earlier = idem === null ? undefined : model.holds.find((hold) => hold.customer === step.customer && hold.idem === idem);
      let expected: { code: string | null; outcome?: 'created' | 'replay'; taskId?: string };
      if (earlier) {
        expected = earlier.mode === spec.mode && earlier.fingerprint === fingerprint ? { code: null, outcome: 'replay', taskId: earlier.taskId } : { code: 'idempotency_key_reused' };
      } else if (spec.maxConcurrency !== null && model.holds.filter((hold) => hold.customer === step.customer && hold.key === step.key && hold.status === 'held').length >= spec.maxConcurrency) {
        expected = { code: 'concurrency_limited' };
      } else if (wallet.balance - wallet.reserved < cost) {
        expected = { code: 'insufficient_credits' };
      } else {
        expected = { code: null, outcome: 'created' };
      }
      let result: Awaited<ReturnType<typeof createTask>> | null = null;
      const code = await errorCode(async () => {
        result = await createTask(deps, {
          principal: key.principal, face: 'native', kind: 'video', model: MODEL_ID, prompt, params: { seconds: step.seconds, resolution: '720p' },
          references: [], callbackUrl: null, metadata: null, idempotencyKey: idem, fingerprint,
        });
      });
      expect(code, 'reserve outcome').toBe(expected.code);
      if (expected.code) return;
      const created = result! as Awaited<ReturnType<typeof createTask>>;
      expect(created.outcome, 'reserve outcome').toBe(expected.outcome);
      if (expected.outcome === 'replay') {
        expect(created.task.id).toBe(expected.taskId);
        return;
      }
      wallet.reserved += cost;
      model.holds.push({
        taskId: created.task.id, customer: step.customer, mode: spec.mode, key: step.key, amount: cost, createdAt: model.now,
        // TIMING.video in create-task.ts: queue budget 10 min + 2 × 30 min runtime.
        expiresAt: model.now + 70 * 60_000, status: 'held', taskStatus: 'queued', charged: 0n, idem, fingerprint,
      });
      return;
    }
    case 'burst': {
      // `count` reservations of one wallet at once: exactly as many succeed as its available balance covers.
      const spec = KEYS[step.key]!;
      const key = state.keys[step.customer]![step.key]!;
      const cost = costs.get(step.seconds)!;
      const wallet = model.wallets.get(walletKey(step.customer, spec.mode))!;
      const fits = Number((wallet.balance - wallet.reserved) / cost);
      const results = await Promise.allSettled(Array.from({ length: step.count }, (_, index) => createTask(deps, {
        principal: key.principal, face: 'native', kind: 'video', model: MODEL_ID, prompt: `burst ${index}`, params: { seconds: step.seconds, resolution: '720p' },
        references: [], callbackUrl: null, metadata: null, idempotencyKey: null, fingerprint: null,
      })));
      const created = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      for (const result of results) {
        if (result.status === 'rejected') expect((result.reason as AppError).code, 'burst refusal').toBe('insufficient_credits');
      }
      expect(created.length, 'burst reservations granted').toBe(Math.min(step.count, fits));
      for (const { task } of created) {
        wallet.reserved += cost;
        model.holds.push({
          taskId: task.id, customer: step.customer, mode: spec.mode, key: step.key, amount: cost, createdAt: model.now,
          expiresAt: model.now + 70 * 60_000, status: 'held', taskStatus: 'queued', charged: 0n, idem: null, fingerprint: null,
        });
      }
      return;
    }
    case 'race': {
      // A settlement and a release of one hold at once: exactly one resolves it (L4), the other finds it resolved.
      if (model.holds.length === 0) return;
      const hold = model.holds[step.hold % model.holds.length]!;
      const now = new Date(model.now);
      const actual = (hold.amount * BigInt(step.factor)) / 10n;
      const [settled, released] = await Promise.all([
        deps.wallet.settle(hold.taskId, actual, now),
        deps.wallet.release(hold.taskId, step.status, 'model_race', now),
      ]);
      const outcomes = [settled.outcome, released.outcome].sort();
      if (hold.status !== 'held') {
        expect(outcomes, 'race on a resolved hold').toEqual(['already_resolved', 'already_resolved']);
        return;
      }
      expect(outcomes.filter((outcome) => outcome !== 'already_resolved'), 'race winners').toHaveLength(1);
      if (settled.outcome === 'settled') {
        const charged = actual > hold.amount ? hold.amount : actual;
        expect(settled.charged).toBe(charged);
        resolveHold(model, hold, 'settled', 'succeeded', charged);
      } else {
        expect(released.outcome).toBe('released');
        resolveHold(model, hold, 'released', step.status, 0n);
      }
      return;
    }
    case 'settle':
    case 'release': {
      const hold = model.holds.length === 0 ? undefined : model.holds[step.hold % (model.holds.length + 1)];
      const taskId = hold?.taskId ?? deps.ids('task');
      const now = new Date(model.now);
      if (step.kind === 'settle') {
        const actual = hold ? (hold.amount * BigInt(step.factor)) / 10n : 100n;
        const result = await deps.wallet.settle(taskId, actual, now);
        expect(result.outcome, 'settle outcome').toBe(!hold ? 'not_found' : hold.status === 'held' ? 'settled' : 'already_resolved');
        if (!hold || hold.status !== 'held') return;
        const charged = actual < 0n ? 0n : actual > hold.amount ? hold.amount : actual;
        expect(result.charged).toBe(charged);
        resolveHold(model, hold, 'settled', 'succeeded', charged);
      } else {
        const result = await deps.wallet.release(taskId, step.status, 'model_release', now);
        expect(result.outcome, 'release outcome').toBe(!hold ? 'not_found' : hold.status === 'held' ? 'released' : 'already_resolved');
        if (!hold || hold.status !== 'held') return;
        resolveHold(model, hold, 'released', step.status, 0n);
      }
      return;
    }
    case 'sweep': {
      const report = await sweep(deps);
      // Every task here is queued (never dispatched): a hold past its expiry goes back blindly (T10).
      const due = model.holds.filter((hold) => hold.status === 'held' && hold.expiresAt < model.now);
      expect(report.released, 'sweep released').toBe(due.length);
      for (const hold of due) resolveHold(model, hold, 'released', 'failed', 0n);
      const expired = model.orders.filter((order) => order.status === 'pending' && order.expiresAt < model.now);
      expect(report.topupsExpired, 'orders expired').toBe(expired.length);
      for (const order of expired) order.status = 'expired';
      const cutoff = model.now - deps.config.idempotencyRetentionMs;
      for (const hold of model.holds) if (hold.idem !== null && hold.createdAt < cutoff) hold.idem = null;
      // Leases past their expiry go back to their wallets, whoever held them.
      const lapsed = model.leases.filter((lease) => lease.dbAmount !== null && lease.dbExpiresAt < model.now);
      expect(report.leasesExpired, 'leases expired').toBe(lapsed.length);
      for (const lease of lapsed) dropLeaseRow(model, lease);
      leaseCounts.swept += lapsed.length;
      return;
    }
    case 'admit':
      await admit(state, step);
      return;
    case 'record':
      await record(state, step);
      return;
    case 'upkeep':
      await upkeep(state);
      return;
    case 'clock':
      model.now += step.ms;
      app.clock.set(model.now);
      return;
    case 'crash':
      await crash(state, step.inflight);
      return;
  }
}

/** What the lease steps did over all runs (printed at the end, to show the runs reach every branch). */
const leaseCounts = { admitted: 0, refused: 0, taken: 0, recorded: 0, fromFree: 0, returned: 0, renewed: 0, swept: 0, lost: 0, reclaimed: 0 };

const LEASE_TTL_MS = () => app.deps.config.creditLeaseTtlMs;
const LEASE_IDLE_MS = () => app.deps.config.creditLeaseIdleMs;

function dropLeaseRow(model: Model, lease: ModelLease): void {
  model.wallets.get(lease.wallet)!.reserved -= lease.dbAmount!;
  lease.dbAmount = null;
  model.leases = model.leases.filter((other) => other !== lease);
}

/** The instance no longer counts on a lease (CreditLeases.lose). */
function loseLease(model: Model, lease: ModelLease): void {
  if (model.book.get(lease.wallet) === lease) {
    model.book.delete(lease.wallet);
    leaseCounts.lost += 1;
  }
  lease.granted = 0n;
}

/** A chat request admitted on the wallet's lease (CreditLeases.admit, one at a time), or refused: its own hold then. */
async function admit(state: RunState, step: Extract<Step, { kind: 'admit' }>): Promise<void> {
  const { model } = state;
  const mode = KEYS[step.key]!.mode;
  const wallet = walletKey(step.customer, mode);
  const hold = costs.get(step.seconds)!;
  let lease = model.book.get(wallet);
  if (!lease) {
    lease = { wallet, granted: 0n, held: 0n, inflight: 0, lastActive: model.now, expiresAt: 0, limited: false, dbAmount: null, dbExpiresAt: 0 };
    model.book.set(wallet, lease);
  }
  let admitted = lease.granted - lease.held >= hold;
  if (!admitted) {
    const lacking = hold - (lease.granted - lease.held);
    const target = 2n * (lease.held + hold) - lease.granted;
    const want = target > lacking ? target : lacking;
    const books = model.wallets.get(wallet)!;
    const free = books.balance - books.reserved;
    const half = free / 2n;
    const take = want < (lacking > half ? lacking : half) ? want : (lacking > half ? lacking : half);
    if (take > free) {
      lease.limited = true;
      leaseCounts.refused += 1;
    } else {
      leaseCounts.taken += 1;
      const expires = model.now + LEASE_TTL_MS();
      if (lease.dbAmount === null) {
        lease.dbAmount = take;
        lease.dbExpiresAt = expires;
        if (!model.leases.includes(lease)) model.leases.push(lease);
      } else {
        lease.dbAmount += take;
        lease.dbExpiresAt = Math.max(lease.dbExpiresAt, expires);
      }
      books.reserved += take;
      lease.granted += take;
      lease.expiresAt = Math.max(lease.expiresAt, expires);
      lease.limited = take < want;
      admitted = true;
    }
  }
  const admission = await app.deps.leases!.admit(state.customers[step.customer]!, mode, hold);
  expect(admission !== null, 'admitted on the lease').toBe(admitted);
  if (!admission) return;
  leaseCounts.admitted += 1;
  lease.held += hold;
  lease.inflight += 1;
  lease.lastActive = model.now;
  model.admissions.push({ admission, lease, customer: step.customer, mode, key: step.key, hold });
}

/** Admitted requests end (settled at factor/10 of their hold, or released) and are written at once, in groups. */
async function record(state: RunState, step: Extract<Step, { kind: 'record' }>): Promise<void> {
  const { model } = state;
  const chosen: ModelAdmission[] = [];
  for (const pick of step.picks) {
    const open = model.admissions.filter((entry) => !chosen.includes(entry));
    if (open.length === 0) break;
    chosen.push(open[pick % open.length]!);
  }
  if (chosen.length === 0) return;
  const now = new Date(model.now);
  const items = chosen.map((entry) => {
    const actual = (entry.hold * BigInt(step.factor)) / 10n;
    return {
      entry, actual, taskId: app.deps.ids('task'),
      ending: {
        outcome: step.released ? 'released' as const : 'settled' as const, finalStatus: step.released ? 'failed' as const : 'succeeded' as const,
        actual, errorCode: step.released ? 'provider_error' : null, cost: null, now, route: null,
      },
    };
  });
  const results = await Promise.all(items.map(({ entry, taskId, ending }) => app.deps.leases!.record(entry.admission, {
    taskId, reservationId: app.deps.ids('res'), customerId: state.customers[entry.customer]!, mode: entry.mode,
    apiKeyId: state.keys[entry.customer]![entry.key]!.id, type: 'chat', model: MODEL_ID, request: {}, now,
    expiresAt: new Date(model.now + 600_000), hardDeadline: new Date(model.now + 660_000), priceVersion: null, pricePercent: 100,
  }, ending)));
  items.forEach(({ entry, actual, taskId, ending: item }, index) => {
    const { lease } = entry;
    const books = model.wallets.get(lease.wallet)!;
    const settled = step.released ? 0n : actual < 0n ? 0n : actual > entry.hold ? entry.hold : actual;
    const fromLease = lease.dbAmount === null ? 0n : settled < lease.dbAmount ? settled : lease.dbAmount;
    const rest = settled - fromLease;
    const free = books.balance - books.reserved;
    const fromFree = rest < free ? rest : free > 0n ? free : 0n;
    const charged = fromLease + fromFree;
    expect([results[index]!.outcome, results[index]!.charged, results[index]!.fromLease], 'record outcome')
      .toEqual([item.outcome, charged, fromLease]);
    leaseCounts.recorded += 1;
    if (fromFree > 0n) leaseCounts.fromFree += 1;
    books.balance -= charged;
    books.reserved -= fromLease;
    if (lease.dbAmount !== null) lease.dbAmount -= fromLease;
    lease.granted -= fromLease;
    if (lease.dbAmount === null) loseLease(model, lease);
    lease.held -= entry.hold;
    lease.inflight -= 1;
    lease.lastActive = model.now;
    model.holds.push({
      taskId, customer: entry.customer, mode: entry.mode, key: entry.key, amount: entry.hold, createdAt: model.now,
      expiresAt: model.now, status: item.outcome, taskStatus: item.finalStatus, charged, idem: null, fingerprint: null,
    });
    model.admissions = model.admissions.filter((other) => other !== entry);
  });
}

/** CreditLeases.maintain: idle leases go back (at once when nearly empty), the others are renewed before expiry. */
async function upkeep(state: RunState): Promise<void> {
  const { model } = state;
  await app.deps.leases!.maintain();
  const renew: ModelLease[] = [];
  for (const lease of [...model.book.values()]) {
    if (lease.inflight === 0 && (lease.limited || lease.granted === 0n || model.now - lease.lastActive >= LEASE_IDLE_MS())) {
      model.book.delete(lease.wallet);
      if (lease.dbAmount !== null) {
        dropLeaseRow(model, lease);
        leaseCounts.returned += 1;
      }
    } else if (lease.granted > 0n && lease.expiresAt - model.now < LEASE_TTL_MS() / 2) {
      renew.push(lease);
    }
  }
  for (const lease of renew) {
    if (lease.dbAmount !== null) {
      lease.dbExpiresAt = model.now + LEASE_TTL_MS();
      lease.expiresAt = lease.dbExpiresAt;
      leaseCounts.renewed += 1;
    } else {
      loseLease(model, lease);
    }
  }
}

function resolveHold(model: Model, hold: ModelHold, status: 'settled' | 'released', taskStatus: ModelHold['taskStatus'], charged: bigint): void {
  const wallet = model.wallets.get(walletKey(hold.customer, hold.mode))!;
  wallet.reserved -= hold.amount;
  wallet.balance -= charged;
  hold.status = status;
  hold.taskStatus = taskStatus;
  hold.charged = charged;
}

/** Credits an order inside a transaction (gr_credit_topup, the one crediting function), with a new or reused payment. */
async function pay(state: RunState, index: number, reuseRef: boolean): Promise<void> {
  const { model } = state;
  const order = model.orders[index]!;
  const used = [...model.paymentRefs.keys()];
  const ref = reuseRef && used.length > 0 ? used[index % used.length]! : `0xtx${model.nextRef++}:0`;
  const outcome = await app.deps.db.transaction((tx) => app.deps.topups.credit(tx, order.id, 'evm_erc20', ref, new Date(model.now)));
  const expected = model.paymentRefs.has(ref) ? 'duplicate' : order.status === 'paid' ? 'already_paid' : 'credited';
  expect(outcome.outcome, 'payment outcome').toBe(expected);
  if (expected !== 'credited') return;
  expect(BigInt(outcome.credits)).toBe(order.credits);
  order.status = 'paid';
  order.ref = ref;
  model.paymentRefs.set(ref, order.id);
  model.wallets.get(walletKey(order.customer, 'live'))!.balance += order.credits;
}

/** The database equals the model, and every ledger invariant holds. */
async function check(state: RunState, label: string): Promise<void> {
  const { model } = state;
  const db = database.db;
  // One round of reads (concurrent on PostgreSQL's pool; PGlite serialises them on its one session).
  const [wallets, tasks, keys, orders, violations, leases] = await Promise.all([
    db.query<{ customer_id: string; mode: Mode; balance: bigint; reserved: bigint }>('SELECT customer_id, mode, balance, reserved FROM wallets'),
    db.query<{ id: string; status: string; charged: bigint; idempotency_key: string | null; r_status: string; amount: bigint; settled_amount: bigint | null }>(
      'SELECT t.id, t.status, t.charged, t.idempotency_key, r.status AS r_status, r.amount, r.settled_amount FROM tasks t LEFT JOIN reservations r ON r.task_id = t.id',
    ),
    db.query<{ id: string; inflight: number }>('SELECT id, inflight FROM api_keys'),
    db.query<{ id: string; status: string; payment_ref_id: string | null }>('SELECT id, status, payment_ref_id FROM topup_orders'),
    findInvariantViolations(db),
    db.query<{ customer_id: string; mode: Mode; amount: bigint; expires_at: Date }>(
      'SELECT w.customer_id, w.mode, l.amount, l.expires_at FROM credit_leases l JOIN wallets w ON w.id = l.wallet_id'),
  ]);

  const actualWallets = Object.fromEntries(wallets.rows.map((row) => [walletKey(state.customers.indexOf(row.customer_id), row.mode), { balance: row.balance, reserved: row.reserved }]));
  expect(actualWallets, `wallets after ${label}`).toEqual(Object.fromEntries(model.wallets));

  const expectedTasks = model.holds
    .map((hold) => ({ id: hold.taskId, status: hold.taskStatus, charged: hold.charged, idempotency_key: hold.idem, r_status: hold.status, amount: hold.amount, settled_amount: hold.status === 'settled' ? hold.charged : null }))
    .sort(byId);
  expect(tasks.rows.sort(byId), `tasks after ${label}`).toEqual(expectedTasks);

  const inflight = Object.fromEntries(keys.rows.map((row) => [row.id, Number(row.inflight)]));
  const expectedInflight: Record<string, number> = {};
  state.keys.forEach((own, customer) => own.forEach((key, index) => {
    expectedInflight[key.id] = model.holds.filter((hold) => hold.customer === customer && hold.key === index && hold.status === 'held').length;
  }));
  expect(inflight, `key slots after ${label}`).toEqual(expectedInflight);

  const expectedOrders = model.orders.map((order) => ({ id: order.id, status: order.status, payment_ref_id: order.ref })).sort(byId);
  expect(orders.rows.sort(byId), `orders after ${label}`).toEqual(expectedOrders);

  const leaseRows = leases.rows.map((row) => `${walletKey(state.customers.indexOf(row.customer_id), row.mode)} ${row.amount} until ${row.expires_at.getTime()}`).sort();
  const expectedLeases = model.leases.map((lease) => `${lease.wallet} ${lease.dbAmount} until ${lease.dbExpiresAt}`).sort();
  expect(leaseRows, `credit leases after ${label}`).toEqual(expectedLeases);

  expect(violations, `ledger invariants after ${label}`).toEqual({});
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function describeStep(step: Step): string {
  return JSON.stringify(step);
}

describe(`wallet model (${ENGINE})`, () => {
  it(`${RUNS} seeded runs × ${STEPS} steps agree with the in-memory model and keep every ledger invariant`, async () => {
    console.log(`wallet model on ${ENGINE}: seed ${SEED}, ${RUNS} runs × ${STEPS} steps (replay: WALLET_MODEL_SEED=${SEED}${PATH ? ` WALLET_MODEL_PATH=${PATH}` : ''})`);
    const started = Date.now();
    // A day after the catalogue's prices took effect, so clock jumps backwards never reach before them.
    const base = app.clock.now().getTime() + 24 * 3_600_000;
    let runs = 0;
    /** Milliseconds spent per step kind and in the checks, printed at the end (where a run's time goes). */
    const spent: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: STEPS, maxLength: STEPS }), async (steps) => {
        runs += 1;
        const state = await freshRun(base);
        await check(state, 'setup');
        for (const [index, step] of steps.entries()) {
          let mark = performance.now();
          lastError = '';
          try {
            await applyStep(state, step);
          } catch (error) {
            console.error(`wallet model on ${ENGINE}: step ${index} ${describeStep(step)} failed${lastError ? ` (the app said ${lastError})` : ''}`);
            throw error;
          }
          spent[step.kind] = (spent[step.kind] ?? 0) + performance.now() - mark;
          mark = performance.now();
          await check(state, `step ${index} ${describeStep(step)}`);
          spent.check = (spent.check ?? 0) + performance.now() - mark;
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: !SHRINK, ...(PATH ? { path: PATH } : {}) },
    );
    console.log(`wallet model on ${ENGINE}: ${runs} runs × ${STEPS} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; ms by step kind: ${JSON.stringify(Object.fromEntries(Object.entries(spent).map(([kind, ms]) => [kind, Math.round(ms)])))}; credit leases ${JSON.stringify(leaseCounts)}`);
  }, 3_600_000);
});
