import { describe, expect, it } from 'vitest';
import { recordRunner, type RecordInput, type RecordResult } from '../../src/modules/wallet/leases.js';
import { useTestApp } from '../harness/setup.js';
import { rowsByCase, walletState } from '../harness/tasks.js';

/**
 * gr_record_group's lone path (migration 0026): a group of one finished text request is written with plain statements,
 * a group of two or more by 0024's set statements. Each case below is recorded twice, in two identical worlds: one
 * request at a time (the lone path) and all as one group. Results, task rows, reservations, charges, webhook rows,
 * the wallet and the lease must be the same. The harness checks the ledger invariants after each test.
 */
const ctx = useTestApp();

type Lease = 'own' | 'gone' | 'foreign' | null;
interface Case {
  name: string;
  hold: number;
  ending: { outcome: 'settled' | 'released'; finalStatus: 'succeeded' | 'failed' | 'cancelled' | 'expired'; actual: number; errorCode: string | null; cost: number | null };
  lease: Lease;
  /** Records the task of an earlier case again (a group run again after its commit was not heard). */
  again?: number;
  route?: boolean;
}

const settled = (actual: number, cost: number | null = null) => ({ outcome: 'settled', finalStatus: 'succeeded', actual, errorCode: null, cost }) as const;
const CASES: Case[] = [
  { name: 'settled on its lease, with a cost and a route', hold: 100, ending: settled(50, 7), lease: 'own', route: true },
  { name: 'used more than its hold: charged the hold, the overage reported', hold: 100, ending: settled(150), lease: 'own' },
  { name: 'failed', hold: 100, ending: { outcome: 'released', finalStatus: 'failed', actual: 0, errorCode: 'provider_error', cost: null }, lease: 'own' },
  { name: 'cancelled, with a cost', hold: 80, ending: { outcome: 'released', finalStatus: 'cancelled', actual: 0, errorCode: 'cancelled', cost: 3 }, lease: 'own' },
  { name: 'expired', hold: 80, ending: { outcome: 'released', finalStatus: 'expired', actual: 0, errorCode: 'timeout', cost: null }, lease: 'own' },
  { name: 'its lease is gone: charged from free credit', hold: 100, ending: settled(40), lease: 'gone' },
  { name: 'a lease of another wallet pays nothing: charged from free credit', hold: 100, ending: settled(30), lease: 'foreign' },
  { name: 'no usage: nothing charged', hold: 100, ending: settled(0, 0), lease: 'own' },
  { name: 'a negative usage: nothing charged', hold: 100, ending: settled(-5), lease: 'own' },
  { name: 'the first case heard again: already resolved', hold: 100, ending: settled(50, 7), lease: 'own', again: 0 },
  { name: 'written without a lease', hold: 100, ending: settled(20), lease: null },
  { name: 'more than the lease has left: the rest from free credit, down to zero', hold: 2000, ending: settled(2000), lease: 'own' },
  { name: 'nothing left anywhere: charged nothing', hold: 10, ending: settled(10), lease: 'own' },
];

async function world() {
  const app = ctx.app;
  const now = app.clock.now();
  const customer = await app.createCustomer();
  const key = await app.createKey(customer.id, { mode: 'live' });
  await app.grant(customer.id, 1000, 'live');
  // Endpoints: every event, failures only, and a disabled one.
  for (const [suffix, events, status] of [['all', '{}', 'enabled'], ['fail', '{task.failed}', 'enabled'], ['off', '{}', 'disabled']] as const) {
    await app.deps.db.query(
      `INSERT INTO webhook_endpoints (id, customer_id, mode, url, events, status, secret_encrypted, created_at, updated_at)
       VALUES ($1, $2, 'live', $3, $4, $5, 'x', $6, $6)`,
      [`we_${customer.id}_${suffix}`, customer.id, `https://hooks.example/${suffix}`, events, status, now],
    );
  }
  const take = async (customerId: string) => {
    const lease = app.deps.ids('lse');
    await app.deps.db.query('SELECT gr_lease_take($1, $2, $3, $4, $5, $6, $7, $8)',
      [lease, customerId, 'live', 'test', 300n, 300n, now, new Date(now.getTime() + 3_600_000)]);
    return lease;
  };
  const own = await take(customer.id);
  // Another customer's lease, to name from this world's requests.
  const other = await app.createCustomer();
  await app.grant(other.id, 1000, 'live');
  const foreign = await take(other.id);
  const ids = CASES.map((spec, index) => spec.again === undefined ? app.deps.ids('task') : `again-${index}`);
  CASES.forEach((spec, index) => { if (spec.again !== undefined) ids[index] = ids[spec.again]!; });
  const leases: Record<Exclude<Lease, null>, string> = { own, gone: `lse_gone_${customer.id}`, foreign };
  const inputs: RecordInput[] = CASES.map((spec, index) => {
    const started = new Date(now.getTime() - 2_000);
    const ended = new Date(now.getTime() + index);
    return {
      request: {
        taskId: ids[index]!, reservationId: `res_${ids[index]}_${index}`, customerId: customer.id as string, mode: 'live', apiKeyId: key.id as string,
        type: 'chat', model: 'grok-4-fast', request: { case: index }, now: started, expiresAt: new Date(started.getTime() + 600_000),
        hardDeadline: new Date(started.getTime() + 660_000), priceVersion: 3, pricePercent: 100,
      },
      ending: {
        ...spec.ending, actual: BigInt(spec.ending.actual), cost: spec.ending.cost === null ? null : BigInt(spec.ending.cost), now: ended,
        route: spec.route ? { provider: 'openai-compatible', channelId: 'ch_route', credentialId: 'cred_route', triedChannels: ['ch_first', 'ch_route'] } : null,
      },
      hold: BigInt(spec.hold),
      leaseId: spec.lease === null ? null : leases[spec.lease],
    };
  });
  return { customerId: customer.id as string, keyId: key.id as string, ids, own, foreign, inputs };
}

type World = Awaited<ReturnType<typeof world>>;

/** Everything the records wrote, with the world's own ids replaced by the case's index. */
async function snapshot(owner: World) {
  const { db } = ctx.app.deps;
  const tasks = await db.query<any>(
    `SELECT id, customer_id = $2 AS own, api_key_id = $3 AS own_key, type, model, status, face, request, hold_amount, charged,
            cost_credits, error_code, progress, provider, channel_id, credential_id, tried_channels, attempts, created_at,
            updated_at, completed_at, price_version, price_percent FROM tasks WHERE id = ANY($1)`, [owner.ids, owner.customerId, owner.keyId]);
  const holds = await db.query<any>(
    `SELECT r.task_id, r.id = 'res_' || r.task_id || '_' || (t.request->>'case') AS named, w.customer_id = $2 AS own_wallet,
            r.api_key_id = $3 AS own_key, r.amount, r.status, r.settled_amount, r.expires_at, r.hard_deadline, r.created_at,
            r.resolved_at, CASE r.lease_id WHEN $4 THEN 'own' WHEN $5 THEN 'foreign' ELSE r.lease_id END AS lease
       FROM reservations r JOIN tasks t ON t.id = r.task_id JOIN wallets w ON w.id = r.wallet_id WHERE r.task_id = ANY($1)`,
    [owner.ids, owner.customerId, owner.keyId, owner.own, owner.foreign]);
  const charges = await db.query<any>(
    `SELECT r.task_id, l.amount, l.created_at, w.customer_id = $2 AS own_wallet FROM ledger_entries l
       JOIN reservations r ON r.id = l.ref_id AND l.ref_type = 'reservation' JOIN wallets w ON w.id = l.wallet_id
      WHERE l.kind = 'charge' AND r.task_id = ANY($1)`, [owner.ids, owner.customerId]);
  const hooks = await db.query<any>(
    `SELECT task_id, id = 'whd_' || task_id || '_' || endpoint_id AS named, endpoint_id, url, event_type, status, next_attempt_at, created_at
       FROM webhook_deliveries WHERE task_id = ANY($1)`, [owner.ids]);
  const leases = await db.query<any>('SELECT id = $1 AS own, amount FROM credit_leases WHERE id IN ($1, $2) ORDER BY 1', [owner.own, owner.foreign]);
  const byCase = (rows: Array<Record<string, any>>, column: string) => rowsByCase(rows, column, owner.ids, owner.customerId);
  return {
    tasks: byCase(tasks.rows, 'id'),
    holds: byCase(holds.rows, 'task_id'),
    charges: byCase(charges.rows, 'task_id'),
    hooks: byCase(hooks.rows, 'task_id'),
    wallet: await walletState(ctx.app, owner.customerId),
    leases: leases.rows,
  };
}

const summary = (results: RecordResult[]) => results.map((result) => [
  result.outcome, Number(result.charged), Number(result.overage), Number(result.fromLease), result.leaseLeft === null ? null : Number(result.leaseLeft),
]);

describe('gr_record_group: a lone record writes what a group writes', () => {
  it('every kind of record, one at a time and as one group: the same results and the same rows', async () => {
    const runner = recordRunner(ctx.app.deps.db);
    const alone = await world();
    const aloneResults: RecordResult[] = [];
    for (const input of alone.inputs) aloneResults.push((await runner.run([input]))[0]!);
    const grouped = await world();
    const groupResults = await runner.run(grouped.inputs);

    // The same answers, but for lease_left: the lease's amount after the group, which for a lone record is after it.
    const withoutLeft = (results: RecordResult[]) => summary(results).map((row) => row.slice(0, 4));
    expect(withoutLeft(groupResults)).toEqual(withoutLeft(aloneResults));
    expect(groupResults.map((result) => result.leaseLeft === null ? null : Number(result.leaseLeft))).toEqual(
      CASES.map((spec) => (spec.lease === 'gone' || spec.lease === null ? null : spec.lease === 'foreign' ? 300 : 0)));
    // What they say, so the comparison cannot pass on two wrong answers.
    expect(summary(aloneResults)).toEqual([
      ['settled', 50, 0, 50, 250],
      ['settled', 100, 50, 100, 150],
      ['released', 0, 0, 0, 150],
      ['released', 0, 0, 0, 150],
      ['released', 0, 0, 0, 150],
      ['settled', 40, 0, 0, null],
      ['settled', 30, 0, 0, 300],
      ['settled', 0, 0, 0, 150],
      ['settled', 0, 0, 0, 150],
      ['already_resolved', 0, 0, 0, 150],
      ['settled', 20, 0, 0, null],
      // 1,000 − 240 charged before = 760; 150 of it on the lease, the 610 free.
      ['settled', 760, 0, 150, 0],
      ['settled', 0, 0, 0, 0],
    ]);
    const aloneRows = await snapshot(alone);
    const groupRows = await snapshot(grouped);
    expect(groupRows).toEqual(aloneRows);
    expect(groupRows.tasks).toHaveLength(CASES.length - 1);
    expect(groupRows.tasks.every((task) => task.own && task.own_key && task.face === 'native' && task.attempts === 1)).toBe(true);
    expect(groupRows.tasks.find((task) => task.case === 0)).toMatchObject({
      status: 'succeeded', charged: 50n, cost_credits: 7n, progress: 100, provider: 'openai-compatible', channel_id: 'ch_route',
      tried_channels: ['ch_first', 'ch_route'], price_version: 3,
    });
    expect(groupRows.tasks.find((task) => task.case === 3)).toMatchObject({ status: 'cancelled', charged: 0n, cost_credits: 0n, error_code: 'cancelled', progress: 0 });
    expect(groupRows.holds.map((hold) => [hold.case, hold.status, hold.settled_amount === null ? null : Number(hold.settled_amount), hold.lease])).toEqual([
      [0, 'settled', 50, 'own'], [1, 'settled', 100, 'own'], [2, 'released', null, 'own'], [3, 'released', null, 'own'],
      [4, 'released', null, 'own'], [5, 'settled', 40, 'lse_gone_C'], [6, 'settled', 30, 'foreign'], [7, 'settled', 0, 'own'],
      [8, 'settled', 0, 'own'], [10, 'settled', 20, null], [11, 'settled', 760, 'own'], [12, 'settled', 0, 'own'],
    ]);
    expect(groupRows.holds.every((hold) => hold.named && hold.own_wallet && hold.own_key)).toBe(true);
    expect(groupRows.charges.map((charge) => [charge.case, Number(charge.amount)])).toEqual([[0, -50], [1, -100], [5, -40], [6, -30], [10, -20], [11, -760]]);
    expect(groupRows.hooks.filter((hook) => hook.case <= 2).map((hook) => [hook.case, hook.endpoint_id, hook.event_type, hook.named])).toEqual([
      [0, 'we_C_all', 'task.succeeded', true], [1, 'we_C_all', 'task.succeeded', true],
      [2, 'we_C_all', 'task.failed', true], [2, 'we_C_fail', 'task.failed', true],
    ]);
    expect(groupRows.hooks).toHaveLength(CASES.length - 1 + 1);
    expect(groupRows.wallet).toEqual({ balance: 0, reserved: 0, available: 0 });
    // The own lease is spent; the other customer's was not touched.
    expect(groupRows.leases.map((lease: { own: boolean; amount: bigint }) => [lease.own, Number(lease.amount)])).toEqual([[false, 300], [true, 0]]);
  });

  it('bad records are refused alike, alone or in a group, and a refused group writes nothing', async () => {
    const runner = recordRunner(ctx.app.deps.db);
    const owner = await world();
    const [good] = owner.inputs;
    const bad: Array<[string, RecordInput]> = [
      ['invalid resolution in a record group', { ...good!, ending: { ...good!.ending, finalStatus: 'failed' } }],
      ['invalid resolution in a record group', { ...good!, ending: { ...good!.ending, outcome: 'released', finalStatus: 'succeeded' } }],
      ['hold must not be negative', { ...good!, hold: -1n }],
      ['no wallet for cus_nobody|live', { ...good!, request: { ...good!.request, customerId: 'cus_nobody' } }],
    ];
    for (const [message, input] of bad) {
      await expect(runner.run([input])).rejects.toThrow(message);
      await expect(runner.run([good!, input])).rejects.toThrow(message);
    }
    expect((await snapshot(owner)).tasks).toEqual([]);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 300, available: 700 });
  });
});
