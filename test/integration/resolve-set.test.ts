import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { reserveRunner, resolveRunner, type ResolveItem } from '../../src/modules/wallet/groups.js';
import { testEngine } from '../harness/databases.js';
import { useTestApp } from '../harness/setup.js';
import { reserveInput, reserveTask, rowsByCase, walletState } from '../harness/tasks.js';

/**
 * gr_resolve_group's set path (migration 0021): a group of distinct tasks is decided with one statement for all its
 * reservations, tasks and webhook rows. Each case below is resolved twice, in two identical worlds: item by item (a
 * one-item group takes the loop, the rules as 0017 wrote them) and as one group (the set path). Outcomes, task rows,
 * reservations, webhook rows, charges, balances and key slots must be the same. The harness checks the ledger
 * invariants after the test.
 */
const ctx = useTestApp();

interface Case {
  name: string;
  reserve?: { cost: number; type?: 'video' | 'chat'; dispatching?: boolean; callback?: boolean };
  before?: 'released';
  item: Omit<ResolveItem, 'taskId' | 'now'>;
}

const route = { provider: 'openai', channelId: 'ch_route', credentialId: 'cred_route', triedChannels: ['ch_first', 'ch_route'] };
const settled = { outcome: 'settled', finalStatus: 'succeeded', errorCode: null, onlyIfStatus: null, result: null, cost: null } as const;
const CASES: Case[] = [
  { name: 'settled with a result, a cost and a callback', reserve: { cost: 100, callback: true }, item: { ...settled, actual: 50n, result: { url: 'https://cdn.example/v.mp4' }, cost: 7n } },
  { name: 'released as failed', reserve: { cost: 100 }, item: { outcome: 'released', finalStatus: 'failed', actual: 0n, errorCode: 'provider_error', onlyIfStatus: null, result: null, cost: null } },
  { name: 'released as cancelled, with a callback', reserve: { cost: 80, callback: true }, item: { outcome: 'released', finalStatus: 'cancelled', actual: 0n, errorCode: 'cancelled', onlyIfStatus: null, result: null, cost: 3n } },
  { name: 'expired, only if still queued (it is)', reserve: { cost: 60 }, item: { outcome: 'released', finalStatus: 'expired', actual: 0n, errorCode: 'timeout', onlyIfStatus: 'queued', result: null, cost: null } },
  { name: 'a chat request settled with its route', reserve: { cost: 90, type: 'chat', dispatching: true }, item: { ...settled, actual: 40n, cost: 12n, route } },
  { name: 'a route given for a video is not recorded', reserve: { cost: 90 }, item: { ...settled, actual: 10n, route } },
  { name: 'used more than the hold: capped, the overage reported', reserve: { cost: 100 }, item: { ...settled, actual: 500n } },
  { name: 'a negative usage charges nothing', reserve: { cost: 100 }, item: { ...settled, actual: -5n } },
  { name: 'a zero usage charges nothing', reserve: { cost: 100 }, item: { ...settled, actual: 0n, cost: 0n } },
  { name: 'only if running, but queued: skipped', reserve: { cost: 70 }, item: { ...settled, actual: 70n, onlyIfStatus: 'running' } },
  { name: 'already released: nothing changes', reserve: { cost: 50 }, before: 'released', item: { ...settled, actual: 20n } },
  { name: 'a task that does not exist', item: { ...settled, actual: 20n } },
];

async function world() {
  const app = ctx.app;
  const customer = await app.createCustomer();
  const key = await app.createKey(customer.id, { mode: 'live' });
  await app.grant(customer.id, 100_000, 'live');
  const now = app.clock.now();
  // Endpoints: every event, failures only, and a disabled one.
  for (const [suffix, events, status] of [['all', '{}', 'enabled'], ['fail', '{task.failed}', 'enabled'], ['off', '{}', 'disabled']] as const) {
    await app.deps.db.query(
      `INSERT INTO webhook_endpoints (id, customer_id, mode, url, events, status, secret_encrypted, created_at, updated_at)
       VALUES ($1, $2, 'live', $3, $4, $5, 'x', $6, $6)`,
      [`we_${customer.id}_${suffix}`, customer.id, `https://hooks.example/${suffix}`, events, status, now],
    );
  }
  const owner = { customerId: customer.id as string, keyId: key.id as string };
  const ids: string[] = [];
  for (const [index, spec] of CASES.entries()) {
    if (!spec.reserve) {
      ids.push(`task_missing_${customer.id}_${index}`);
      continue;
    }
    const { cost, type = 'video', dispatching = false, callback = false } = spec.reserve;
    const reserved = await reserveTask(app, {
      ...owner, cost, type,
      ...(dispatching ? { initialStatus: 'dispatching' as const, leaseOwner: 'http', leaseUntil: new Date(now.getTime() + 60_000) } : {}),
      ...(callback ? { callbackUrl: 'https://client.example/callback' } : {}),
    });
    if (spec.before === 'released') await app.deps.wallet.release(reserved.taskId, 'failed', 'provider_error', now);
    ids.push(reserved.taskId);
  }
  return { ...owner, ids };
}

/** Everything the resolution wrote, with the world's own ids replaced by the case's index. */
async function snapshot(owner: { customerId: string; keyId: string; ids: string[] }) {
  const { db } = ctx.app.deps;
  const tasks = await db.query<any>(
    `SELECT id, status, charged, cost_credits, error_code, result, progress, provider, channel_id, credential_id, tried_channels,
            lease_owner, lease_until, next_action_at, completed_at FROM tasks WHERE id = ANY($1)`, [owner.ids]);
  const holds = await db.query<any>('SELECT task_id, status, amount, settled_amount, resolved_at FROM reservations WHERE task_id = ANY($1)', [owner.ids]);
  const hooks = await db.query<any>(
    `SELECT task_id, endpoint_id, url, event_type, status, next_attempt_at FROM webhook_deliveries WHERE task_id = ANY($1)`, [owner.ids]);
  const charges = await db.query<any>(
    `SELECT r.task_id, l.amount FROM ledger_entries l JOIN reservations r ON r.id = l.ref_id AND l.ref_type = 'reservation'
      WHERE l.kind = 'charge' AND r.task_id = ANY($1)`, [owner.ids]);
  const key = await db.query<any>('SELECT inflight FROM api_keys WHERE id = $1', [owner.keyId]);
  const byCase = (rows: Array<Record<string, any>>, column: string) => rowsByCase(rows, column, owner.ids, owner.customerId);
  return {
    tasks: byCase(tasks.rows, 'id'),
    holds: byCase(holds.rows, 'task_id'),
    hooks: byCase(hooks.rows, 'task_id'),
    charges: byCase(charges.rows, 'task_id'),
    wallet: await walletState(ctx.app, owner.customerId),
    inflight: key.rows[0].inflight,
  };
}

describe('gr_resolve_group: the set path decides each item as the loop does', () => {
  it('every kind of item, item by item and as one group: the same outcomes and the same rows', async () => {
    const runner = resolveRunner(ctx.app.deps.db);
    const now = new Date(ctx.app.clock.now().getTime() + 5_000);
    const items = (ids: string[]) => CASES.map((spec, index) => ({ ...spec.item, taskId: ids[index]!, now }));

    const alone = await world();
    const aloneResults = [];
    for (const item of items(alone.ids)) aloneResults.push((await runner.run([item]))[0]);

    const grouped = await world();
    const groupResults = await runner.run(items(grouped.ids));

    expect(groupResults).toEqual(aloneResults);
    expect(groupResults.map((result) => result.outcome)).toEqual([
      'settled', 'released', 'released', 'released', 'settled', 'settled', 'settled', 'settled', 'settled', 'skipped', 'already_resolved', 'not_found',
    ]);
    expect(groupResults[6]).toEqual({ outcome: 'settled', charged: 100n, overage: 400n });
    const aloneRows = await snapshot(alone);
    const groupRows = await snapshot(grouped);
    expect(groupRows).toEqual(aloneRows);
    // What the rows say, so the comparison cannot pass on two empty worlds.
    expect(groupRows.hooks.map((hook) => [hook.case, hook.endpoint_id, hook.event_type])).toEqual([
      [0, 'we_C_all', 'task.succeeded'], [0, null, 'task.succeeded'],
      [1, 'we_C_all', 'task.failed'], [1, 'we_C_fail', 'task.failed'],
      [2, 'we_C_all', 'task.cancelled'], [2, null, 'task.cancelled'],
      [3, 'we_C_all', 'task.expired'],
      [4, 'we_C_all', 'task.succeeded'], [5, 'we_C_all', 'task.succeeded'], [6, 'we_C_all', 'task.succeeded'],
      [7, 'we_C_all', 'task.succeeded'], [8, 'we_C_all', 'task.succeeded'],
      [10, 'we_C_all', 'task.failed'], [10, 'we_C_fail', 'task.failed'], // from its earlier release
    ]);
    expect(groupRows.tasks.find((task) => task.case === 4)).toMatchObject({ provider: 'openai', channel_id: 'ch_route', tried_channels: ['ch_first', 'ch_route'], charged: 40n, cost_credits: 12n });
    expect(groupRows.tasks.find((task) => task.case === 5)).toMatchObject({ provider: null, channel_id: null, charged: 10n });
    expect(groupRows.tasks.find((task) => task.case === 9)).toMatchObject({ status: 'queued', charged: 0n });
    expect(groupRows.charges.map((charge) => [charge.case, charge.amount])).toEqual([[0, -50n], [4, -40n], [5, -10n], [6, -100n]]);
    expect(groupRows.wallet).toEqual({ balance: 100_000 - 200, reserved: 70, available: 100_000 - 270 });
    expect(groupRows.inflight).toBe(1);
  });

  it('a group naming one task twice keeps the loop: the first item resolves it, the second finds it resolved', async () => {
    const owner = await world();
    const runner = resolveRunner(ctx.app.deps.db);
    const now = ctx.app.clock.now();
    const taskId = owner.ids[1]!;
    const results = await runner.run([
      { ...settled, taskId, now, actual: 30n },
      { outcome: 'released', finalStatus: 'failed', actual: 0n, errorCode: 'provider_error', onlyIfStatus: null, result: null, cost: null, taskId, now },
      { ...settled, taskId: owner.ids[0]!, now, actual: 10n, onlyIfStatus: 'queued' },
      { ...settled, taskId: owner.ids[0]!, now, actual: 10n, onlyIfStatus: 'queued' },
    ]);
    expect(results.map((result) => result.outcome)).toEqual(['settled', 'already_resolved', 'settled', 'skipped']);
    const rows = await snapshot(owner);
    expect(rows.tasks.filter((task) => task.case <= 1).map((task) => [task.case, task.status, task.charged])).toEqual([[0, 'succeeded', 10n], [1, 'succeeded', 30n]]);
  });

  it.runIf(testEngine() === 'postgres')('groups read tasks and holds through their keys, never by scanning the tables', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 1_000_000, 'live');
    // A fresh session on a table of some hundred rows and no statistics: a planner left to itself scans it.
    const client = new pg.Client({ connectionString: ctx.app.database.url! });
    await client.connect();
    try {
      const owner = { customerId: customer.id as string, keyId: key.id as string };
      const scans = async () => (await client.query<{ relname: string; seq_scan: string }>(
        `SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname IN ('tasks', 'reservations', 'wallets', 'api_keys', 'webhook_endpoints') ORDER BY relname`)).rows
        .filter((row) => Number(row.seq_scan) > 0);
      const reserve = reserveRunner(client);
      const resolve = resolveRunner(client);
      const created: string[] = [];
      for (let round = 0; round < 8; round += 1) {
        await client.query('BEGIN');
        const rows = await reserve.run(Array.from({ length: 40 }, () => reserveInput(ctx.app, { ...owner, cost: 10, idempotencyKey: `scan-${Math.random()}` })));
        expect(await scans()).toEqual([]);
        await client.query('COMMIT');
        created.push(...rows.map((row) => row.task!.id));
      }
      for (let round = 0; round < 8; round += 1) {
        await client.query('BEGIN');
        const results = await resolve.run(created.slice(round * 16, round * 16 + 16).map((taskId) => ({ ...settled, taskId, now: ctx.app.clock.now(), actual: 5n })));
        expect(results.every((result) => result.outcome === 'settled')).toBe(true);
        expect(await scans()).toEqual([]);
        await client.query('COMMIT');
      }
      // Alone: a reservation (gr_create_task) and a settlement (a one-item group), each more than the five times
      // after which PostgreSQL may keep a generic plan.
      for (let round = 0; round < 8; round += 1) {
        await client.query('BEGIN');
        const [row] = await reserve.run([reserveInput(ctx.app, { ...owner, cost: 10, idempotencyKey: `alone-${round}` })]);
        expect(row!.outcome).toBe('created');
        const [result] = await resolve.run([{ ...settled, taskId: created[200 + round]!, now: ctx.app.clock.now(), actual: 5n }]);
        expect(result!.outcome).toBe('settled');
        expect(await scans()).toEqual([]);
        await client.query('COMMIT');
      }
    } finally {
      await client.end();
    }
  });
});
