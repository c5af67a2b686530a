import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestApp, type TestApp } from '../harness/app.js';
import { testEngine } from '../harness/databases.js';
import { startStripeMock } from '../mock-upstreams/stripe/server.js';

/**
 * "A crash between storing the event and crediting → the retried delivery credits exactly once" (issue 13), with a
 * real crash: a `genrelay serve` process on PostgreSQL receives the signed `checkout.session.completed`, inserts the
 * event id in its transaction and is then held on the order's row (the test holds a row lock on it) — at that moment
 * it is killed with SIGKILL. PostgreSQL rolls the transaction back with the connection; the delivery got no answer;
 * the event, like the credit, was never stored. Stripe's retry (the fake's resend) to a live genrelay credits once.
 * PostgreSQL only: the embedded engine lives inside the process (payments-stripe.test.ts covers it with a fault
 * injected inside the transaction instead).
 */
const SECRET = 'whsec_payments_stripe_crash_0123456789';
const engine = testEngine();
let mock: Awaited<ReturnType<typeof startStripeMock>>;
let app: TestApp;
let child: ChildProcess | null = null;
const clients: pg.Client[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-stripe-crash-'));

beforeAll(async () => {
  if (engine !== 'postgres') return;
  mock = await startStripeMock({ webhookSecret: SECRET });
  app = await startTestApp({ env: { STRIPE_SECRET_KEY: 'sk_test_crash', STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_API_BASE: mock.baseUrl } });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  for (const client of clients) await client.end().catch(() => {});
  await app?.close();
  await mock?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function serve(port: number): ChildProcess {
  return spawn(process.execPath, ['bin/genrelay.mjs', 'serve'], {
    env: {
      ...process.env, DATABASE_URL: app.database.url!, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'error', DEMO: 'false',
      OPERATOR_API_KEY: 'stripe-crash-operator-key-0123456789', GENRELAY_MASTER_KEY: 'test-master-key-0123456789abcdef0123456789',
      STRIPE_SECRET_KEY: 'sk_test_crash', STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_API_BASE: mock.baseUrl,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function until<T>(probe: () => Promise<T | null | undefined | false>, what: string, tries = 300): Promise<T> {
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const value = await probe().catch(() => null);
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function control(path: string, body: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(`${mock.baseUrl}/stripe/_mock${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return response.json();
}

describe.runIf(engine === 'postgres')('Stripe webhook: SIGKILL between storing the event and crediting', () => {
  it('the killed transaction stored nothing; the retried delivery credits exactly once', async () => {
    const customer = await app.createCustomer();
    const key = await app.createKey(customer.id, { mode: 'live' });
    const created = await app.request('POST', '/v1/billing/topups', { key: key.key, body: { method: 'stripe', amount: 1000 } });
    expect(created.status, created.text).toBe(201);
    const order = await app.deps.topups.get(created.body.id, null);

    const port = await freePort();
    child = serve(port);
    await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 'genrelay serve');
    await control('/webhook', { url: `http://127.0.0.1:${port}/webhooks/stripe` });

    // One connection holds the order's row; another watches (outside a transaction, so it sees fresh activity).
    const blocker = new pg.Client({ connectionString: app.database.url! });
    const observer = new pg.Client({ connectionString: app.database.url! });
    for (const client of [blocker, observer]) {
      clients.push(client);
      client.on('error', () => {});
      await client.connect();
    }
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM topup_orders WHERE id = $1 FOR UPDATE', [order.id]);
    const delivery = control(`/sessions/${order.stripe_session_id}/pay`);
    // The server's transaction has inserted the event id and now waits for the order's row.
    const pid = await until(async () => {
      const waiting = await observer.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND wait_event_type = 'Lock' AND query ILIKE '%topup_orders%'`,
      );
      return waiting.rows[0]?.pid;
    }, 'the webhook transaction to wait on the order');
    const holds = await observer.query(
      `SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = $1 AND c.relname = 'stripe_events' AND l.granted`,
      [pid],
    );
    expect(holds.rows.map((row) => row.mode)).toContain('RowExclusiveLock');

    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = null;
    await blocker.query('ROLLBACK');
    await until(async () => (await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rows.length === 0, 'the dead backend to go');

    const sent = await delivery;
    expect(sent.deliveries[0].status).toBeNull();
    const eventId = sent.event.id as string;
    expect((await app.deps.db.query('SELECT * FROM stripe_events WHERE id = $1', [eventId])).rows).toEqual([]);
    expect((await app.deps.db.query("SELECT * FROM ledger_entries WHERE kind = 'topup' AND ref_id = $1", [order.stripe_session_id])).rows).toEqual([]);
    expect((await app.deps.topups.get(order.id, null)).status).toBe('pending');

    // Stripe retries to a genrelay that is up: credited once, and once only.
    await control('/webhook', { url: `${app.baseUrl}/webhooks/stripe` });
    const retried = await control(`/events/${eventId}/resend`);
    expect(retried.deliveries.map((entry: { status: number; body: string }) => [entry.status, JSON.parse(entry.body).outcome])).toEqual([[200, 'credited']]);
    const again = await control(`/events/${eventId}/resend`, { copies: 3 });
    expect(again.deliveries.map((entry: { body: string }) => JSON.parse(entry.body).outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    const wallet = await app.deps.db.query<{ balance: bigint }>("SELECT balance FROM wallets WHERE customer_id = $1 AND mode = 'live'", [customer.id]);
    expect(wallet.rows[0]!.balance).toBe(BigInt(order.credits));
    expect(await app.invariants()).toEqual({});
  }, 120_000);
});
