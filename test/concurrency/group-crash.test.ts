import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInvariantViolations } from '../../src/modules/wallet/invariants.js';
import { sweepExpiredLeases } from '../../src/modules/wallet/leases.js';
import { OPERATOR_KEY, freePort } from '../harness/app.js';
import { call, ready } from '../harness/child-server.js';
import { createTestDatabase, type TestDatabase } from '../harness/databases.js';

/**
 * Crash with reservation groups in flight (issue 14): a real `genrelay serve` on PostgreSQL takes task creations of one
 * customer from 300 clients at once, each sending its next request as soon as it has an answer (so they are committed
 * in groups), and is killed with SIGKILL once some have been answered, with requests still in flight. A new process
 * then gets every request again with the same Idempotency-Key. Every request answered 2xx by the first process must
 * come back as a replay of the same task: an answer is never sent before its reservation is durable. Nothing is duplicated or half-written: one task per key, reserved equals the held holds, invariants hold.
 */
/** Clients sending one request after another until the kill. */
const CLIENTS = 300;
const KILL_AFTER = 40;

let database: TestDatabase;
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-group-crash-'));
const children: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase('postgres', 3);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

function serve(port: number): ChildProcess {
  const child = spawn(process.execPath, ['bin/genrelay.mjs', 'serve'], {
    env: {
      ...process.env, DATABASE_URL: database.url!, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'error',
      OPERATOR_API_KEY: OPERATOR_KEY, GENRELAY_MASTER_KEY: 'group-crash-master-key-0123456789abcdef', DEMO: 'false',
      // The API role only: no worker dispatches the tasks, so every hold stays held and the books are easy to check.
      GENRELAY_ROLE: 'api',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Waits until no other session of the test database is busy: statements of a dead process finish (or fail) first. */
async function quiet(): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const busy = await database.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
    );
    if (busy.rows[0]!.n === 0) return;
    if (attempt > 200) throw new Error('statements of the killed process never finished');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const videoBody = (index: number) => ({ model: 'seedance-2.0-fast', prompt: `group crash clip ${index}`, seconds: 4 });
const idempotencyKey = (index: number) => `group-crash-${index}`;

describe('crash with reservation groups in flight', () => {
  it('SIGKILL while creations from 300 clients are being committed in groups: every 2xx answer survives, nothing is duplicated', async () => {
    const port = await freePort();
    const first = serve(port);
    await ready(port);
    const customer = await call(port, 'POST', '/api/public/customers', { name: 'group crash' }, OPERATOR_KEY);
    expect(customer.status).toBe(201);
    const key = await call(port, 'POST', `/api/public/customers/${customer.body.id}/api-keys`, { name: 'k', mode: 'test' }, OPERATOR_KEY);
    expect(key.status).toBe(201);
    const granted = await call(port, 'POST', `/api/public/customers/${customer.body.id}/credits`, { amount: 1_000_000_000, reason: 'group crash', mode: 'test' }, OPERATOR_KEY);
    expect(granted.status).toBe(201);

    // 300 clients send requests one after another, all at once; the first process is killed as the KILL_AFTER-th 2xx
    // arrives. Each client that got its answer has already sent its next request, so requests are in flight at the
    // kill however fast the groups commit. Answers already on their way are still read after the kill: they were sent
    // by the first process all the same, so they count.
    const before: Array<{ status: number; id: string | null } | { error: string }> = [];
    let answered = 0;
    let sent = 0;
    let killed = false;
    const fired = Array.from({ length: CLIENTS }, async () => {
      while (!killed) {
        const index = sent;
        sent += 1;
        try {
          const response = await call(port, 'POST', '/v1/videos', videoBody(index), key.body.key, { 'idempotency-key': idempotencyKey(index) });
          before[index] = { status: response.status, id: typeof response.body?.id === 'string' ? response.body.id : null };
          if (response.status >= 200 && response.status < 300) {
            answered += 1;
            if (answered === KILL_AFTER) {
              killed = true;
              first.kill('SIGKILL');
            }
          }
        } catch (error) {
          before[index] = { error: String(error) };
          return;
        }
      }
    });
    await Promise.all(fired);
    await exited(first);
    expect(first.signalCode).toBe('SIGKILL');
    const REQUESTS = sent;
    expect(before.filter((entry) => entry !== undefined)).toHaveLength(REQUESTS);

    const ok = before.flatMap((entry, index) => ('status' in entry && entry.status >= 200 && entry.status < 300 ? [{ index, id: entry.id! }] : []));
    const cut = before.filter((entry) => 'error' in entry).length;
    const otherStatuses = before.flatMap((entry) => ('status' in entry && (entry.status < 200 || entry.status >= 300) ? [entry.status] : []));
    await quiet();
    // Rows inserted by one group statement share its transaction id (xmin): groups were committing when it died.
    const groups = await database.db.query<{ tx: string; n: number }>(
      'SELECT xmin::text AS tx, count(*)::int AS n FROM tasks WHERE customer_id = $1 GROUP BY 1 ORDER BY 2 DESC', [customer.body.id]);
    const stored = groups.rows.reduce((sum, row) => sum + row.n, 0);
    console.log(`before SIGKILL: ${ok.length} answered 2xx (some read after the kill), ${cut} cut off, other statuses ${JSON.stringify(otherStatuses)}; `
      + `${stored} tasks stored by ${groups.rows.length} transactions, the largest ${groups.rows[0]?.n ?? 0}`);
    expect(groups.rows[0]!.n).toBeGreaterThan(1);
    // The kill came mid-flight: some answers arrived, and some requests were cut off without one.
    expect(ok.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(cut).toBeGreaterThan(0);
    expect(otherStatuses).toEqual([]);
    for (const { id } of ok) expect(id).toMatch(/^task_/);

    // A new process gets every request again with the same key.
    const second = serve(port);
    await ready(port);
    const after = await Promise.all(Array.from({ length: REQUESTS }, (_, index) =>
      call(port, 'POST', '/v1/videos', videoBody(index), key.body.key, { 'idempotency-key': idempotencyKey(index) })));
    after.forEach((response, index) => expect([200, 202], `${index}: ${JSON.stringify(response.body)}`).toContain(response.status));
    for (const { index, id } of ok) {
      expect({ index, status: after[index]!.status, replayed: after[index]!.replayed, id: after[index]!.body.id })
        .toEqual({ index, status: 200, replayed: true, id });
    }
    second.kill('SIGTERM');
    await exited(second);

    await quiet();

    const tasks = await database.db.query<{ id: string; idempotency_key: string; hold_amount: bigint }>(
      'SELECT id, idempotency_key, hold_amount FROM tasks WHERE customer_id = $1', [customer.body.id]);
    expect(tasks.rows).toHaveLength(REQUESTS);
    expect(new Set(tasks.rows.map((row) => row.idempotency_key))).toEqual(new Set(Array.from({ length: REQUESTS }, (_, index) => idempotencyKey(index))));
    // Each key's task is the one the second process answered with.
    const byKey = new Map(tasks.rows.map((row) => [row.idempotency_key, row.id]));
    after.forEach((response, index) => expect(response.body.id).toBe(byKey.get(idempotencyKey(index))));
    const wallet = await database.db.query<{ balance: bigint; reserved: bigint; held: bigint; holds: number; hold_total: bigint }>(
      `SELECT w.balance, w.reserved,
              (SELECT COALESCE(SUM(r.amount), 0) FROM reservations r WHERE r.wallet_id = w.id AND r.status = 'held') AS held,
              (SELECT count(*)::int FROM reservations r WHERE r.wallet_id = w.id) AS holds,
              (SELECT COALESCE(SUM(t.hold_amount), 0) FROM tasks t WHERE t.customer_id = w.customer_id AND t.mode = w.mode) AS hold_total
         FROM wallets w WHERE w.customer_id = $1 AND w.mode = 'test'`,
      [customer.body.id],
    );
    const books = wallet.rows[0]!;
    expect(books.holds).toBe(REQUESTS);
    expect(BigInt(books.reserved)).toBe(BigInt(books.held));
    expect(BigInt(books.reserved)).toBe(BigInt(books.hold_total));
    expect(BigInt(books.balance)).toBe(1_000_000_000n);
    const inflight = await database.db.query<{ inflight: number }>('SELECT inflight FROM api_keys WHERE id = $1', [key.body.id]);
    expect(inflight.rows[0]!.inflight).toBe(REQUESTS);
    expect(await findInvariantViolations(database.db)).toEqual({});
  }, 60_000);

  it('SIGKILL with chat requests in flight on a credit lease: every answered request is written once, nothing in flight is charged, the lease goes back', async () => {
    const port = await freePort();
    const first = serve(port);
    await ready(port);
    const customer = await call(port, 'POST', '/api/public/customers', { name: 'lease crash' }, OPERATOR_KEY);
    const key = await call(port, 'POST', `/api/public/customers/${customer.body.id}/api-keys`, { name: 'k', mode: 'test' }, OPERATOR_KEY);
    const GRANT = 1_000_000_000;
    await call(port, 'POST', `/api/public/customers/${customer.body.id}/credits`, { amount: GRANT, reason: 'lease crash', mode: 'test' }, OPERATOR_KEY);

    const answered: string[] = [];
    let cut = 0;
    let killed = false;
    await Promise.all(Array.from({ length: 100 }, async (_, client) => {
      for (let index = 0; !killed; index += 1) {
        try {
          const response = await call(port, 'POST', '/v1/chat/completions',
            { model: 'grok-4-fast', messages: [{ role: 'user', content: `lease crash ${client}.${index}` }] }, key.body.key);
          expect(response.status, JSON.stringify(response.body)).toBe(200);
          answered.push(`task_${String(response.body.id).slice('chatcmpl-'.length)}`);
          if (answered.length === KILL_AFTER && !killed) {
            killed = true;
            first.kill('SIGKILL');
          }
        } catch {
          cut += 1;
          return;
        }
      }
    }));
    await exited(first);
    await quiet();
    expect(cut).toBeGreaterThan(0);

    // Every answer was sent after its request was written: each answered request is a succeeded, charged task.
    const tasks = await database.db.query<{ id: string; status: string; charged: bigint }>(
      'SELECT id, status, charged FROM tasks WHERE customer_id = $1', [customer.body.id]);
    const byId = new Map(tasks.rows.map((row) => [row.id, row]));
    for (const id of answered) expect({ id, status: byId.get(id)?.status }).toEqual({ id, status: 'succeeded' });
    const charged = tasks.rows.reduce((sum, row) => sum + BigInt(row.charged), 0n);
    // The dead process's lease is all that is reserved: the requests in flight never made a row of their own.
    const leases = await database.db.query<{ amount: bigint }>(
      'SELECT l.amount FROM credit_leases l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1', [customer.body.id]);
    expect(leases.rows.length).toBeGreaterThan(0);
    const books = async () => (await database.db.query<{ balance: bigint; reserved: bigint }>(
      "SELECT balance, reserved FROM wallets WHERE customer_id = $1 AND mode = 'test'", [customer.body.id])).rows[0]!;
    expect(BigInt((await books()).reserved)).toBe(leases.rows.reduce((sum, row) => sum + BigInt(row.amount), 0n));
    expect(await findInvariantViolations(database.db)).toEqual({});
    // Its expiry passes (no one renews it): the sweeper gives it back.
    const swept = await sweepExpiredLeases(database.db, new Date(Date.now() + 10 * 60_000));
    expect(swept.leases).toBe(leases.rows.length);
    expect(await books()).toEqual({ balance: BigInt(GRANT) - charged, reserved: 0n });
    expect(await findInvariantViolations(database.db)).toEqual({});
  }, 60_000);
});
