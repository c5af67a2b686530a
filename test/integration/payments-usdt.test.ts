import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDeps } from '../../src/deps.js';
import { EvmRpcSource } from '../../src/providers/chains/evm.js';
import { chainsConfigured } from '../../src/providers/chains/index.js';
import { tronAddressFromHex } from '../../src/providers/chains/transfer-log.js';
import { scanChains } from '../../src/workflows/chain-watch.js';
import { Worker } from '../../src/worker/worker.js';
import { parseConfig } from '../../src/config/index.js';
import { startTestApp, type TestApp } from '../harness/app.js';
import { expectV1Error } from '../harness/setup.js';
import { walletState } from '../harness/tasks.js';
import { createEvmFamily } from '../mock-upstreams/evm/server.js';
import { mount, startMockServer, type RunningMock } from '../mock-upstreams/shared/harness.js';
import { createTronFamily } from '../mock-upstreams/tron/server.js';

/**
 * Self-hosted USDT (issue 13) end to end: orders through `POST /v1/billing/topups`, the payer played through the
 * chain mocks' `_mock` routes over real HTTP on loopback, the watchers driven one scan at a time
 * (`worker.scanChainsOnce()`) under the manual clock. Credited once per (chain, transaction, log index), only after
 * finality, `confirming n/N` before; everything that does not fit an order goes to the unmatched queue.
 */
const TRON_KEY = 'tron-test-key';
const seedHex = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 40);
const TRON_A = tronAddressFromHex(seedHex('usdt-tron-a'))!;
const TRON_B = tronAddressFromHex(seedHex('usdt-tron-b'))!;
const EVM_A = `0x${seedHex('usdt-evm-a')}`;
const OTHER_TRON_TOKEN = tronAddressFromHex(seedHex('not-usdt'))!;
const OTHER_EVM_TOKEN = `0x${seedHex('not-usdt')}`;
const FINALITY_DEPTH = 5;

let mock: RunningMock;
let app: TestApp;

async function post(path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${mock.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function chainState(chain: 'tron' | 'evm'): Promise<any> {
  return (await fetch(`${mock.baseUrl}/${chain}/_mock/state`)).json();
}

beforeAll(async () => {
  mock = await startMockServer([
    mount('/tron', createTronFamily({ confirmations: 19 }), 'tron', { key: TRON_KEY }),
    mount('/evm', createEvmFamily({ finalityDepth: FINALITY_DEPTH }), 'evm', { key: null }),
  ]);
  app = await startTestApp({
    env: {
      USDT_TRON_ADDRESSES: `${TRON_A},${TRON_B}`,
      TRONGRID_URL: `${mock.baseUrl}/tron`,
      TRONGRID_API_KEY: TRON_KEY,
      USDT_EVM_ADDRESSES: EVM_A,
      EVM_RPC_URL: `${mock.baseUrl}/evm`,
      EVM_NETWORK: 'ethereum',
    },
  });
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

/**
 * Each test starts an hour after everything before it: the app's clock passes both chains' newest block, the chains'
 * clocks follow it, and orders left open by earlier tests expire (their windows are over).
 */
beforeEach(async () => {
  const heads = [(await chainState('tron')).head_timestamp, (await chainState('evm')).head_timestamp * 1000];
  app.clock.set(Math.max(app.clock.now().getTime(), ...heads) + 3_600_000);
  await app.deps.topups.expireDue(app.clock.now());
  await post('/tron/_mock/clock', { time: app.clock.now().getTime() + 1000 });
  await post('/evm/_mock/clock', { time: app.clock.now().getTime() + 1000 });
});

afterEach(async () => {
  expect(await app.invariants()).toEqual({});
});

async function payer(): Promise<{ customerId: string; key: string }> {
  const customer = await app.createCustomer();
  const key = await app.createKey(customer.id);
  return { customerId: customer.id, key: key.key };
}

async function order(who: { key: string }, method: 'usdt_tron' | 'usdt_evm', amount: number): Promise<any> {
  const response = await app.request('POST', '/v1/billing/topups', { key: who.key, body: { method, amount } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function view(who: { key: string }, id: string): Promise<any> {
  const response = await app.request('GET', `/v1/billing/topups/${id}`, { key: who.key });
  expect(response.status).toBe(200);
  return response.body;
}

async function scan() {
  const reports = await app.worker.scanChainsOnce();
  expect(reports.filter((report) => report.error)).toEqual([]);
  return reports;
}

async function ledgerOf(customerId: string) {
  const result = await app.deps.db.query<{ kind: string; amount: string; ref_type: string; ref_id: string }>(
    `SELECT l.kind, l.amount, l.ref_type, l.ref_id FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id
      WHERE w.customer_id = $1 ORDER BY l.id`,
    [customerId],
  );
  return result.rows.map((row) => ({ ...row, amount: Number(row.amount) }));
}

async function exceptionsFor(refId: string) {
  return (await app.deps.db.query<any>('SELECT * FROM payment_exceptions WHERE ref_id = $1', [refId])).rows;
}

async function transfersOf(txid: string) {
  return (await app.deps.db.query<any>('SELECT * FROM chain_transfers WHERE txid = $1 ORDER BY log_index', [txid])).rows;
}

describe('USDT on TRON', () => {
  it('shows confirming n/N before solidification, credits once after, and a transfer seen again credits nothing', async () => {
    const who = await payer();
    const created = await order(who, 'usdt_tron', 1000);
    expect(created).toMatchObject({ method: 'usdt_tron', status: 'pending', amount: 1000, currency: 'USD', credits: 100_000, confirmations: { seen: 0, required: 19 } });
    expect(created.pay_to).toMatchObject({ network: 'tron', token: 'USDT' });
    expect([TRON_A, TRON_B]).toContain(created.pay_to.address);
    expect(created.pay_to.amount).toMatch(/^10(\.\d{1,4})?$/);

    const paid = await post('/tron/_mock/transfer', { to: created.pay_to.address, amount: created.pay_to.amount });
    expect(paid.status).toBe(200);
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'confirming', confirmations: { seen: 1, required: 19 } });

    await post('/tron/_mock/confirm', { blocks: 10 });
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'confirming', confirmations: { seen: 11, required: 19 } });
    expect(await walletState(app, who.customerId)).toMatchObject({ balance: 0 });

    await post('/tron/_mock/confirm', { blocks: 8 });
    const reports = await scan();
    expect(reports.find((report) => report.address === created.pay_to.address)).toMatchObject({ recorded: 1, credited: 1, unmatched: 0 });
    expect(await view(who, created.id)).toMatchObject({ status: 'paid', confirmations: { seen: 19, required: 19 } });
    expect(await walletState(app, who.customerId)).toMatchObject({ balance: 100_000 });

    // Seen again: later scans, a cursor rewound to the beginning of time (a crash before it was stored), and two
    // watchers racing over the same transfer.
    await scan();
    await app.deps.db.query("UPDATE chain_cursors SET position = 0 WHERE chain = 'tron'");
    await Promise.all([app.worker.scanChainsOnce(), app.worker.scanChainsOnce()]);
    await scan();
    expect(await ledgerOf(who.customerId)).toEqual([{ kind: 'topup', amount: 100_000, ref_type: 'tron_trc20', ref_id: `${paid.body.txid}:0` }]);
    expect(await transfersOf(paid.body.txid)).toEqual([expect.objectContaining({ chain: 'tron', log_index: 0, disposition: 'credited', order_id: created.id, to_address: created.pay_to.address })]);
    expect(await exceptionsFor(`${paid.body.txid}:0`)).toEqual([]);
  });

  it('files a wrong amount as unmatched and never credits it', async () => {
    const who = await payer();
    const created = await order(who, 'usdt_tron', 1500);
    const paid = await post('/tron/_mock/transfer', { to: created.pay_to.address, amount: '15.5' });
    await scan();
    expect((await view(who, created.id)).status).toBe('pending');
    await post('/tron/_mock/confirm', { blocks: 19 });
    await scan();
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'pending', confirmations: { seen: 0 } });
    expect(await walletState(app, who.customerId)).toMatchObject({ balance: 0 });
    expect(await exceptionsFor(`${paid.body.txid}:0`)).toEqual([expect.objectContaining({
      queue: 'unmatched', kind: 'wrong_amount', method: 'usdt_tron', order_id: created.id, customer_id: who.customerId,
      ref_type: 'tron_trc20', currency: 'USDT', status: 'open',
    })]);
    expect(await transfersOf(paid.body.txid)).toEqual([expect.objectContaining({ disposition: 'unmatched' })]);
    expect(String((await exceptionsFor(`${paid.body.txid}:0`))[0].amount)).toBe('15500000');
  });

  it('credits nothing for a transfer that disappears before solidification, and the order waits again', async () => {
    const who = await payer();
    const created = await order(who, 'usdt_tron', 2000);
    const paid = await post('/tron/_mock/transfer', { to: created.pay_to.address, amount: created.pay_to.amount });
    await post('/tron/_mock/confirm', { blocks: 5 });
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'confirming', confirmations: { seen: 6, required: 19 } });

    expect((await post('/tron/_mock/reorg', { txid: paid.body.txid })).status).toBe(200);
    const reports = await scan();
    expect(reports.find((report) => report.address === created.pay_to.address)).toMatchObject({ reverted: 1, credited: 0 });
    expect(await view(who, created.id)).toMatchObject({ status: 'pending', confirmations: { seen: 0 } });
    await post('/tron/_mock/confirm', { blocks: 30 });
    await scan();
    expect((await view(who, created.id)).status).toBe('pending');
    expect(await walletState(app, who.customerId)).toMatchObject({ balance: 0 });
    expect(await transfersOf(paid.body.txid)).toEqual([]);
    expect(await exceptionsFor(`${paid.body.txid}:0`)).toEqual([]);

    // The payer sends again; that one stays.
    const again = await post('/tron/_mock/transfer', { to: created.pay_to.address, amount: created.pay_to.amount });
    await post('/tron/_mock/confirm', { blocks: 19 });
    await scan();
    expect((await view(who, created.id)).status).toBe('paid');
    expect(await ledgerOf(who.customerId)).toEqual([expect.objectContaining({ ref_id: `${again.body.txid}:0`, amount: 200_000 })]);
  });

  it('files a payment made after the window as late, never credited', async () => {
    const who = await payer();
    const created = await order(who, 'usdt_tron', 1200);
    // The chain's clock passes the order's 30-minute window before the payer sends.
    await post('/tron/_mock/clock', { time: created.expires_at * 1000 + 60_000 });
    const paid = await post('/tron/_mock/transfer', { to: created.pay_to.address, amount: created.pay_to.amount });
    expect(paid.body.block_timestamp).toBeGreaterThan(created.expires_at * 1000);
    await post('/tron/_mock/confirm', { blocks: 19 });
    app.clock.set(paid.body.block_timestamp + 120_000);
    await scan();
    expect(await exceptionsFor(`${paid.body.txid}:0`)).toEqual([expect.objectContaining({ queue: 'unmatched', kind: 'late', order_id: created.id, customer_id: who.customerId, status: 'open' })]);
    expect((await view(who, created.id)).status).not.toBe('paid');
    expect(await walletState(app, who.customerId)).toMatchObject({ balance: 0 });
  });

  it('credits two orders paid by one transaction once each (log indexes), files the second payment of a paid order, and ignores another token', async () => {
    const first = await payer();
    const second = await payer();
    const one = await order(first, 'usdt_tron', 1100);
    const two = await order(second, 'usdt_tron', 1300);
    const ignored = await post('/tron/_mock/transfer', { to: one.pay_to.address, amount: one.pay_to.amount, contract: OTHER_TRON_TOKEN });
    const paid = await post('/tron/_mock/transfer', {
      transfers: [
        { to: one.pay_to.address, amount: one.pay_to.amount },
        { to: two.pay_to.address, amount: two.pay_to.amount },
        { to: one.pay_to.address, amount: one.pay_to.amount },
      ],
    });
    expect(paid.body.event_indexes).toEqual([0, 1, 2]);
    await post('/tron/_mock/confirm', { blocks: 19 });
    await scan();
    await scan();
    expect((await view(first, one.id)).status).toBe('paid');
    expect((await view(second, two.id)).status).toBe('paid');
    expect(await ledgerOf(first.customerId)).toEqual([{ kind: 'topup', amount: 110_000, ref_type: 'tron_trc20', ref_id: `${paid.body.txid}:0` }]);
    expect(await ledgerOf(second.customerId)).toEqual([{ kind: 'topup', amount: 130_000, ref_type: 'tron_trc20', ref_id: `${paid.body.txid}:1` }]);
    expect(await exceptionsFor(`${paid.body.txid}:2`)).toEqual([expect.objectContaining({ kind: 'already_paid', order_id: one.id, customer_id: first.customerId })]);
    expect((await transfersOf(paid.body.txid)).map((row: any) => [row.log_index, row.disposition])).toEqual([[0, 'credited'], [1, 'credited'], [2, 'unmatched']]);
    // The other token's transfer left no trace.
    expect(await transfersOf(ignored.body.txid)).toEqual([]);
    expect(await exceptionsFor(`${ignored.body.txid}:0`)).toEqual([]);
  });

  it('files a transfer no order accounts for as unknown', async () => {
    const paid = await post('/tron/_mock/transfer', { to: TRON_B, amount: '77.7777' });
    await post('/tron/_mock/confirm', { blocks: 19 });
    await scan();
    expect(await exceptionsFor(`${paid.body.txid}:0`)).toEqual([expect.objectContaining({ queue: 'unmatched', kind: 'unknown', order_id: null, customer_id: null })]);
  });
});

describe('USDT on EVM', () => {
  it('shows confirming n/N towards the finalized block, credits after, and keeps its cursor across a restart without re-crediting', async () => {
    const who = await payer();
    const created = await order(who, 'usdt_evm', 2500);
    expect(created.pay_to).toMatchObject({ address: EVM_A, network: 'ethereum', amount: expect.stringMatching(/^25(\.\d{1,4})?$/) });
    const paid = await post('/evm/_mock/transfer', { to: EVM_A, amount: created.pay_to.amount });
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'confirming', confirmations: { seen: 1, required: FINALITY_DEPTH + 1 } });
    await post('/evm/_mock/confirm', { blocks: FINALITY_DEPTH - 1 });
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'confirming', confirmations: { seen: FINALITY_DEPTH, required: FINALITY_DEPTH + 1 } });
    await post('/evm/_mock/confirm', { blocks: 1 });
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'paid', confirmations: { seen: FINALITY_DEPTH + 1 } });
    expect(await ledgerOf(who.customerId)).toEqual([{ kind: 'topup', amount: 250_000, ref_type: 'evm_erc20', ref_id: `${paid.body.txid}:0` }]);
    const cursor = (await app.deps.db.query<{ position: string }>("SELECT position FROM chain_cursors WHERE chain = 'evm' AND address = $1", [EVM_A])).rows[0]!;
    expect(BigInt(cursor.position)).toBeGreaterThanOrEqual(BigInt(paid.body.block_number));

    // A new process on the same database: it continues from the stored cursor and credits nothing twice.
    const restarted = await buildDeps(app.deps.config, app.deps.secrets, { db: app.database.db, clock: app.clock, logger: pino({ level: 'silent' }), skipMigrations: true });
    try {
      const worker = new Worker(restarted);
      const next = await order(who, 'usdt_evm', 2600);
      const later = await post('/evm/_mock/transfer', { to: EVM_A, amount: next.pay_to.amount });
      await post('/evm/_mock/confirm', { blocks: FINALITY_DEPTH });
      const reports = await worker.scanChainsOnce();
      expect(reports.find((report) => report.chain === 'evm')).toMatchObject({ recorded: 1, credited: 1 });
      await worker.scanChainsOnce();
      expect(await ledgerOf(who.customerId)).toEqual([
        { kind: 'topup', amount: 250_000, ref_type: 'evm_erc20', ref_id: `${paid.body.txid}:0` },
        { kind: 'topup', amount: 260_000, ref_type: 'evm_erc20', ref_id: `${later.body.txid}:0` },
      ]);
    } finally {
      await restarted.close();
    }
  });

  it('credits nothing for a reorganised transfer, files a wrong amount, ignores another token', async () => {
    const who = await payer();
    const created = await order(who, 'usdt_evm', 3000);
    const gone = await post('/evm/_mock/transfer', { to: EVM_A, amount: created.pay_to.amount });
    await scan();
    expect((await view(who, created.id)).status).toBe('confirming');
    expect((await post('/evm/_mock/reorg', { txid: gone.body.txid })).status).toBe(200);
    await scan();
    expect(await view(who, created.id)).toMatchObject({ status: 'pending', confirmations: { seen: 0 } });

    const wrong = await post('/evm/_mock/transfer', { to: EVM_A, amount: '29.99' });
    const other = await post('/evm/_mock/transfer', { to: EVM_A, amount: created.pay_to.amount, contract: OTHER_EVM_TOKEN });
    await post('/evm/_mock/confirm', { blocks: FINALITY_DEPTH + 3 });
    await scan();
    expect((await view(who, created.id)).status).toBe('pending');
    expect(await walletState(app, who.customerId)).toMatchObject({ balance: 0 });
    expect(await transfersOf(gone.body.txid)).toEqual([]);
    expect(await transfersOf(other.body.txid)).toEqual([]);
    expect(await exceptionsFor(`${wrong.body.txid}:0`)).toEqual([expect.objectContaining({ kind: 'wrong_amount', method: 'usdt_evm', ref_type: 'evm_erc20', order_id: created.id })]);
  });

  it('waits for EVM_CONFIRMATIONS blocks instead of the finalized tag when a depth is configured', async () => {
    const config = parseConfig({ ...envOf(app), EVM_CONFIRMATIONS: '3' });
    expect(config.evmConfirmations).toBe(3);
    const source = new EvmRpcSource({ rpcUrl: config.evmRpcUrl!, contract: config.usdtEvmContract, addresses: [EVM_A], confirmations: 3 });
    const who = await payer();
    const created = await order(who, 'usdt_evm', 3300);
    await post('/evm/_mock/transfer', { to: EVM_A, amount: created.pay_to.amount });
    await post('/evm/_mock/confirm', { blocks: 1 });
    await scanChains(app.deps, [source]);
    expect(await view(who, created.id)).toMatchObject({ status: 'confirming', confirmations: { seen: 2, required: 3 } });
    await post('/evm/_mock/confirm', { blocks: 1 });
    await scanChains(app.deps, [source]);
    expect((await view(who, created.id)).status).toBe('paid');
  });
});

/** The app's environment, to derive a variant configuration. */
function envOf(testApp: TestApp): Record<string, string> {
  return {
    DATA_DIR: testApp.deps.config.dataDir,
    GENRELAY_MASTER_KEY: 'test-master-key-0123456789abcdef0123456789',
    OPERATOR_API_KEY: 'test-operator-key-0123456789abcdef',
    USDT_EVM_ADDRESSES: EVM_A,
    EVM_RPC_URL: `${mock.baseUrl}/evm`,
  };
}

describe('unique amounts (P9)', () => {
  it('never gives two open orders one amount on one address: 60 concurrent orders of one price over two TRON addresses', async () => {
    const payers = await Promise.all(Array.from({ length: 12 }, () => payer()));
    const created = await Promise.all(payers.flatMap((who) => Array.from({ length: 5 }, () => order(who, 'usdt_tron', 700))));
    expect(created).toHaveLength(60);
    expect(new Set(created.map((row) => `${row.pay_to.address} ${row.pay_to.amount}`)).size).toBe(60);
    for (const row of created) expect(row.pay_to.amount).toMatch(/^7(\.\d{1,4})?$/);
    const perAddress = (address: string) => created.filter((row) => row.pay_to.address === address).length;
    // Both addresses are used: the same exact amount may be open once on each.
    expect(perAddress(TRON_A)).toBe(30);
    expect(perAddress(TRON_B)).toBe(30);
    const open = await app.deps.db.query<{ n: number; distinct_slots: number }>(
      `SELECT COUNT(*)::int AS n, COUNT(DISTINCT (pay_address, pay_amount_micro))::int AS distinct_slots FROM topup_orders
        WHERE method = 'usdt_tron' AND status IN ('pending', 'confirming')`,
    );
    expect(open.rows[0]!.n).toBe(open.rows[0]!.distinct_slots);
  }, 120_000);

  it('answers 503 when all 100 exact amounts near a price are held on the only address, and frees them when the windows end', async () => {
    // 100 open orders hold 8.0000 … 8.0099 USDT on the one EVM address (written directly: the point is the 101st).
    const holder = await payer();
    const now = app.clock.now();
    const expires = new Date(now.getTime() + 30 * 60_000);
    for (let k = 0; k < 100; k += 1) {
      await app.deps.db.query(
        `INSERT INTO topup_orders (id, customer_id, method, status, amount, currency, credits, created_at, expires_at, pay_address, pay_amount_micro, pay_network, updated_at)
         VALUES ($1, $2, 'usdt_evm', 'pending', 800, 'USD', 80000, $3, $4, $5, $6, 'ethereum', $3)`,
        [app.deps.ids('top'), holder.customerId, now, expires, EVM_A, 8_000_000 + k * 100],
      );
    }
    const late = await payer();
    const full = await app.request('POST', '/v1/billing/topups', { key: late.key, body: { method: 'usdt_evm', amount: 800 } });
    expectV1Error(full, 503, 'provider_capacity_unavailable');
    // Another price still fits.
    expect((await order(late, 'usdt_evm', 810)).pay_to.amount).toMatch(/^8\.1(\d{1,4})?$/);

    // The database itself refuses a second open order on an amount (not only the order service's retry loop).
    const rows = (await app.deps.db.query<{ id: string }>("SELECT id FROM topup_orders WHERE customer_id = $1 ORDER BY pay_amount_micro LIMIT 2", [holder.customerId])).rows;
    await expect(app.deps.db.query('UPDATE topup_orders SET pay_amount_micro = (SELECT pay_amount_micro FROM topup_orders WHERE id = $2) WHERE id = $1', [rows[0]!.id, rows[1]!.id]))
      .rejects.toThrow(/topup_orders_open_amount|duplicate key/);

    // Once the windows are over the amounts are free again.
    app.clock.advance(31 * 60_000);
    await app.deps.topups.expireDue(app.clock.now());
    expect((await order(late, 'usdt_evm', 800)).pay_to.amount).toBe('8');
  });

  it('runs the chain loop only when addresses are configured', () => {
    expect(chainsConfigured(app.deps.config)).toBe(true);
    expect(chainsConfigured(parseConfig({ DATA_DIR: app.deps.config.dataDir, GENRELAY_MASTER_KEY: 'test-master-key-0123456789abcdef0123456789' }))).toBe(false);
  });
});
