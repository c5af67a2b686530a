import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TASK_BIGINT_COLUMNS, TASK_DATE_COLUMNS, reserveRunner, taskFromJson, type ReserveRow } from '../../src/modules/wallet/groups.js';
import type { LeaseAdmission } from '../../src/modules/wallet/leases.js';
import type { ReserveInput } from '../../src/modules/wallet/types.js';
import { testEngine } from '../harness/databases.js';
import { useTestApp } from '../harness/setup.js';
import { reserveInput as buildReserveInput, reserveTask, walletState, type ReserveFor } from '../harness/tasks.js';

/**
 * Group commit of the wallet (issue 14) on a real database of each engine, through the real WalletService: the
 * groups decide every item as it would be decided alone, refusals and failed statements write nothing, and the money
 * stays exact. The invariants (SEMANTICS §5.2) are checked after every test by the harness.
 */
const ctx = useTestApp();
const ENGINE = testEngine();

async function funded(amount: number, mode: 'live' | 'test' = 'live') {
  const customer = await ctx.app.createCustomer();
  const key = await ctx.app.createKey(customer.id, { mode });
  if (amount > 0) await ctx.app.grant(customer.id, amount, mode);
  return { customerId: customer.id as string, keyId: key.id as string };
}

async function extraKey(customerId: string, mode: 'live' | 'test' = 'live') {
  return (await ctx.app.createKey(customerId, { mode })).id as string;
}

/** A reservation input as the task engine builds it (test/harness/tasks.ts), for `owner` at `cost`. */
function reserveInput(owner: { customerId: string; keyId: string }, cost: number, extra: Omit<ReserveFor, 'customerId' | 'keyId' | 'cost'> = {}): ReserveInput {
  return buildReserveInput(ctx.app, { ...owner, cost, ...extra });
}

function outcomes(results: PromiseSettledResult<{ outcome: string }>[]) {
  const counts: Record<string, number> = {};
  for (const result of results) {
    const name = result.status === 'fulfilled' ? result.value.outcome : (result.reason as { code?: string }).code ?? String(result.reason);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

function stats() {
  return { reserve: { ...ctx.app.deps.wallet.reserveGroups.stats }, resolve: { ...ctx.app.deps.wallet.resolveGroups.stats } };
}

async function inflight(keyId: string) {
  const result = await ctx.app.deps.db.query<{ inflight: number }>('SELECT inflight FROM api_keys WHERE id = $1', [keyId]);
  return result.rows[0]!.inflight;
}

async function countRows(sql: string, values: unknown[]): Promise<number> {
  const result = await ctx.app.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return result.rows[0]!.n;
}

describe('taskFromJson', () => {
  it('gives exactly the row SELECT * gives, for a task with every column populated', async () => {
    const owner = await funded(10_000);
    const created = await ctx.app.deps.wallet.reserve(reserveInput(owner, 123, {
      idempotencyKey: 'json-shape', fingerprint: 'fp-json', face: 'openai', callbackUrl: 'https://example.com/hook',
      metadata: { order: 'A-1', nested: { n: 1, list: [1, 'two', null] } }, priceVersion: 7, pricePercent: 90,
      request: { prompt: 'a cat', seconds: 4, references: [], extra: { user: 'u1' } },
      initialStatus: 'dispatching', leaseOwner: 'wrk_json', leaseUntil: new Date(ctx.app.clock.now().getTime() + 30_000),
    }));
    expect(created.outcome).toBe('created');
    // Every nullable column gets a value; timestamps with microseconds, a bigint at the top of the JSON-safe range.
    await ctx.app.deps.db.query(
      `UPDATE tasks SET result = '{"files":[{"id":"file_1","content_type":"video/mp4","width":1280,"height":720,"duration_seconds":4.5}]}',
              channel_id = 'ch_json', provider = 'sandbox', provider_task_id = 'up_123', operation = '{"op":"poll","n":[1,2]}',
              upstream_error = '{"code":"x","message":"y"}', submitted_at = '2025-03-04 05:06:07.123456+00',
              error_code = 'provider_error', completed_at = '2025-03-04 05:06:09.999999+00', credential_id = 'cred_json',
              tried_channels = ARRAY['ch_a', 'ch_json'], cost_credits = 9007199254740991, progress = 42, attempts = 3,
              next_action_at = '2025-03-04 05:06:08.000001+00', lease_until = '2025-03-04 05:06:10.5+00',
              updated_at = '2025-03-04 05:06:07.654321+00'
        WHERE id = $1`,
      [created.taskId],
    );
    const selected = (await ctx.app.deps.db.query<Record<string, unknown>>('SELECT * FROM tasks WHERE id = $1', [created.taskId])).rows[0]!;
    const json = (await ctx.app.deps.db.query<{ j: Record<string, unknown> }>('SELECT to_jsonb(t) AS j FROM tasks t WHERE id = $1', [created.taskId])).rows[0]!.j;
    const nullable = await ctx.app.deps.db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'tasks' AND is_nullable = 'YES'",
    );
    expect(nullable.rows.length).toBeGreaterThan(10);
    for (const { column_name: column } of nullable.rows) expect(selected[column], `${column} is populated`).not.toBeNull();
    expect(taskFromJson(json)).toStrictEqual(selected);
    // The group statement hands back the same shape for a replay (the row comes through to_jsonb there too).
    const replay = await ctx.app.deps.wallet.reserve(reserveInput(owner, 123, { idempotencyKey: 'json-shape', fingerprint: 'fp-json' }));
    expect(replay.outcome).toBe('replay');
    expect(replay.task).toStrictEqual(selected);
    await ctx.app.deps.wallet.release(created.taskId, 'failed', 'provider_error', ctx.app.clock.now());
  });

  it('TASK_DATE_COLUMNS and TASK_BIGINT_COLUMNS name exactly the timestamptz and bigint columns of tasks', async () => {
    const columns = await ctx.app.deps.db.query<{ column_name: string; data_type: string; udt_name: string }>(
      "SELECT column_name, data_type, udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'tasks'",
    );
    const ofType = (type: string) => columns.rows.filter((row) => row.data_type === type).map((row) => row.column_name).sort();
    expect(ofType('timestamp with time zone')).toEqual([...TASK_DATE_COLUMNS].sort());
    expect(ofType('bigint')).toEqual([...TASK_BIGINT_COLUMNS].sort());
    // Every other column is of a type whose to_jsonb form node-postgres would also give (no numeric, date, bytea…).
    const jsonNative = new Set(['text', 'integer', 'jsonb', 'boolean', 'timestamp with time zone', 'bigint']);
    for (const row of columns.rows) {
      if (row.data_type === 'ARRAY') expect(row.udt_name, row.column_name).toBe('_text');
      else expect(jsonNative.has(row.data_type), `${row.column_name} ${row.data_type}`).toBe(true);
    }
  });
});

describe('reservation groups', () => {
  it('C26 in groups: 100 concurrent reservations of 100 against 1000 → exactly 10 created, 90 refused', async () => {
    const owner = await funded(1000);
    const before = stats().reserve;
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => reserveTask(ctx.app, { ...owner, cost: 100 })));
    expect(outcomes(results)).toEqual({ created: 10, insufficient_credits: 90 });
    const after = stats().reserve;
    expect(after.largest).toBeGreaterThan(1);
    expect(after.items - before.items).toBe(100);
    expect(after.groups - before.groups).toBeLessThan(100);
    expect(after.fallbacks).toBe(before.fallbacks);
    // The same counts on /metrics, per kind.
    const metrics = (await ctx.app.request('GET', '/metrics')).text;
    const metric = (name: string) => Number(new RegExp(`^${name}\\{kind="reserve"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(metric('genrelay_group_commit_items_total')).toBe(ctx.app.deps.wallet.reserveGroups.stats.items);
    expect(metric('genrelay_group_commit_groups_total')).toBe(ctx.app.deps.wallet.reserveGroups.stats.groups);
    expect(metric('genrelay_group_commit_fallbacks_total')).toBe(ctx.app.deps.wallet.reserveGroups.stats.fallbacks);
    expect(metrics).toMatch(/^genrelay_group_commit_items_total\{kind="resolve"\} \d+$/m);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 1000, available: 0 });
    expect(await inflight(owner.keyId)).toBe(10);
    expect(await countRows('tasks WHERE customer_id = $1', [owner.customerId])).toBe(10);
    expect(await ctx.app.invariants()).toEqual({});
  });

  it('C20 in groups: 50 concurrent reservations with one idempotency key → 1 created, 49 replays, one reservation', async () => {
    const owner = await funded(10_000);
    const before = stats().reserve;
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'same-key', fingerprint: 'fp' })),
    );
    expect(outcomes(results)).toEqual({ created: 1, replay: 49 });
    expect(stats().reserve.groups - before.groups).toBeLessThan(50);
    const ids = new Set(results.map((result) => (result as PromiseFulfilledResult<{ taskId: string }>).value.taskId));
    expect(ids.size).toBe(1);
    expect(await countRows('reservations r JOIN tasks t ON t.id = r.task_id WHERE t.customer_id = $1', [owner.customerId])).toBe(1);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 100, available: 9900 });
    expect(await inflight(owner.keyId)).toBe(1);
  });

  it('C21 in groups: one key with two fingerprints → one task; the other fingerprint gets conflict', async () => {
    const owner = await funded(10_000);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) => reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'ab-key', fingerprint: index % 2 ? 'B' : 'A' })),
    );
    expect(outcomes(results)).toEqual({ created: 1, replay: 9, conflict: 10 });
    const fulfilled = results.map((result) => (result as PromiseFulfilledResult<{ taskId: string; outcome: string; task: { fingerprint: string | null } }>).value);
    expect(new Set(fulfilled.map((value) => value.taskId)).size).toBe(1);
    // The first request runs alone at once and wins; every A after it replays, every B conflicts.
    expect(fulfilled[0]!.outcome).toBe('created');
    expect(fulfilled[0]!.task.fingerprint).toBe('A');
    fulfilled.slice(1).forEach((value, offset) => expect(value.outcome).toBe((offset + 1) % 2 ? 'conflict' : 'replay'));
    expect(await countRows('tasks WHERE customer_id = $1', [owner.customerId])).toBe(1);
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(100);
  });

  it('a group mixing customers, a key at max_concurrency and an underfunded wallet: each item as alone, refusals write nothing', async () => {
    const a = await funded(1000);
    const a2 = await extraKey(a.customerId);
    const b = await funded(150);
    const pilot = await funded(100);
    // Key a.keyId already holds two slots (and 20 credits).
    for (let index = 0; index < 2; index += 1) await reserveTask(ctx.app, { ...a, cost: 10 });
    const A1 = a;
    const A2 = { customerId: a.customerId, keyId: a2 };
    const items: Array<{ input: ReserveInput; expect: string }> = [
      { input: reserveInput(A1, 10, { maxConcurrency: 2 }), expect: 'GR429' },
      { input: reserveInput(A2, 100), expect: 'created' },
      { input: reserveInput(b, 100), expect: 'created' },
      { input: reserveInput(b, 100), expect: 'GR402' },
      { input: reserveInput(A1, 10, { maxConcurrency: 3 }), expect: 'created' },
      { input: reserveInput(A1, 10, { maxConcurrency: 3 }), expect: 'GR429' },
      { input: reserveInput(b, 50), expect: 'created' },
      { input: reserveInput(A2, 800, { idempotencyKey: 'mix-k', fingerprint: 'f' }), expect: 'created' },
      { input: reserveInput(A2, 800, { idempotencyKey: 'mix-k', fingerprint: 'f' }), expect: 'existing' },
      { input: reserveInput(A2, 71), expect: 'GR402' },
      { input: reserveInput(A2, 70), expect: 'created' },
      { input: reserveInput(b, 0), expect: 'created' },
      { input: reserveInput(A2, 5, { idempotencyKey: 'mix-k', fingerprint: 'g' }), expect: 'existing' },
      { input: reserveInput(A1, 0), expect: 'created' },
      { input: reserveInput(b, 1, { idempotencyKey: 'mix-k', fingerprint: 'f' }), expect: 'GR402' },
    ];
    const describeRow = (row: ReserveRow) => ({ outcome: row.outcome, task: row.task?.id ?? null });

    // What each item gets alone, one after the other in this order (in a transaction that is then rolled back; a
    // refusal alone raises inside the database, so each item runs behind a savepoint).
    const alone: Array<ReturnType<typeof describeRow>> = [];
    const rollback = new Error('rollback');
    await ctx.app.deps.db.transaction(async (tx) => {
      for (const { input } of items) {
        await tx.query('SAVEPOINT item');
        const row = (await reserveRunner(tx).run([input]))[0]!;
        await tx.query(row.outcome.startsWith('GR') ? 'ROLLBACK TO SAVEPOINT item' : 'RELEASE SAVEPOINT item');
        alone.push(describeRow(row));
      }
      throw rollback;
    }).catch((error) => { if (error !== rollback) throw error; });
    expect(alone.map((row) => row.outcome)).toEqual(items.map((item) => item.expect));
    expect(await countRows('tasks WHERE id = ANY($1)', [items.map((item) => item.input.taskId)])).toBe(0);

    // The same items as one group of the real WalletService committer. On PostgreSQL (and the embedded engine on a
    // thread of its own) a pilot goes alone first and holds the key meanwhile, so the items form the next group; the
    // embedded engine in the server's thread gathers everything submitted in one turn of the event loop (deferSend),
    // the pilot included, into one group.
    const before = stats().reserve;
    const pilotRun = ctx.app.deps.wallet.reserveGroups.submit(reserveInput(pilot, 10), 'mixed');
    const grouped = await Promise.all(items.map(({ input }) => ctx.app.deps.wallet.reserveGroups.submit(input, 'mixed')));
    expect((await pilotRun).outcome).toBe('created');
    const after = stats().reserve;
    expect(after.groups - before.groups).toBe(ctx.app.deps.db.blocksThread ? 1 : 2);
    expect(after.items - before.items).toBe(items.length + 1);
    expect(after.fallbacks).toBe(before.fallbacks);
    expect(grouped.map(describeRow)).toEqual(alone);
    // The existing items name the task created earlier in the same group.
    expect(grouped[8]!.task!.id).toBe(items[7]!.input.taskId);
    expect(grouped[12]!.task!.fingerprint).toBe('f');

    // Refused and existing items wrote nothing: no task, no reservation; the books hold exactly the created ones.
    const notCreated = items.filter((item) => item.expect !== 'created');
    expect(await countRows('tasks WHERE id = ANY($1)', [notCreated.map((item) => item.input.taskId)])).toBe(0);
    expect(await countRows('reservations WHERE id = ANY($1)', [notCreated.map((item) => item.input.reservationId)])).toBe(0);
    expect(await walletState(ctx.app, a.customerId)).toEqual({ balance: 1000, reserved: 1000, available: 0 });
    expect(await walletState(ctx.app, b.customerId)).toEqual({ balance: 150, reserved: 150, available: 0 });
    expect(await inflight(A1.keyId)).toBe(4);
    expect(await inflight(A2.keyId)).toBe(3);
    expect(await inflight(b.keyId)).toBe(3);
    expect(await ctx.app.invariants()).toEqual({});
  });

  it('a group whose statement fails (a NUL in one request): the others are created alone, the bad one rejects, nothing partial', async () => {
    const owner = await funded(10_000);
    const before = stats().reserve;
    const inputs = Array.from({ length: 10 }, (_, index) =>
      reserveInput(owner, 100, { request: index === 4 ? { prompt: 'bad \u0000 prompt' } : { prompt: `ok ${index}` } }));
    // The first runs alone at once; the other nine (with the bad one) form the next group.
    const results = await Promise.allSettled(inputs.map((input) => ctx.app.deps.wallet.reserve(input)));
    const after = stats().reserve;
    expect(after.fallbacks - before.fallbacks).toBeGreaterThanOrEqual(1);
    expect(after.largest).toBeGreaterThan(1);
    results.forEach((result, index) => {
      if (index === 4) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).not.toHaveProperty('code', 'insufficient_credits');
      } else {
        expect(result.status, String((result as PromiseRejectedResult).reason)).toBe('fulfilled');
        expect((result as PromiseFulfilledResult<{ outcome: string }>).value.outcome).toBe('created');
      }
    });
    expect(await countRows('tasks WHERE id = $1', [inputs[4]!.taskId])).toBe(0);
    expect(await countRows('reservations WHERE id = $1', [inputs[4]!.reservationId])).toBe(0);
    expect(await countRows('tasks WHERE customer_id = $1', [owner.customerId])).toBe(9);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 900, available: 9100 });
    expect(await inflight(owner.keyId)).toBe(9);
    expect(await ctx.app.invariants()).toEqual({});
  });
});

describe('resolution groups', () => {
  it('many concurrent settles and releases of one wallet in groups: balances exact, one charge per settled task, slots back', async () => {
    const owner = await funded(100_000);
    const reserved = [];
    for (let index = 0; index < 40; index += 1) reserved.push(await reserveTask(ctx.app, { ...owner, cost: 100 }));
    // A chat task resolved with its route, as text-request.ts does.
    const chat = await reserveTask(ctx.app, { ...owner, cost: 50, type: 'chat', initialStatus: 'dispatching', leaseOwner: 'wrk_chat', leaseUntil: new Date(ctx.app.clock.now().getTime() + 60_000) });
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(4050);
    const now = ctx.app.clock.now();
    const actualOf = (index: number) => [0, 37, 100, 150][index % 4]!; // 0 charges nothing; 150 is capped at the hold
    const before = stats().resolve;
    const { wallet } = ctx.app.deps;
    const results = await Promise.all([
      ...reserved.map(({ taskId }, index) => index % 2 === 0
        ? wallet.settle(taskId, BigInt(actualOf(index / 2)), now)
        : wallet.release(taskId, 'failed', 'provider_error', now)),
      wallet.resolveInGroup({
        taskId: chat.taskId, outcome: 'settled', finalStatus: 'succeeded', actual: 30n, errorCode: null, now, onlyIfStatus: null,
        result: null, cost: 12n, route: { provider: 'openai', channelId: 'ch_route', credentialId: 'cred_route', triedChannels: ['ch_first', 'ch_route'] },
      }, `${owner.customerId}:live`),
    ]);
    const after = stats().resolve;
    expect(after.largest).toBeGreaterThan(1);
    expect(after.groups - before.groups).toBeLessThan(41);
    expect(after.fallbacks).toBe(before.fallbacks);
    let charged = 30;
    let settled = 1; // the chat task
    reserved.forEach((_, index) => {
      const result = results[index]!;
      if (index % 2 === 0) {
        const actual = actualOf(index / 2);
        expect(result).toEqual({ outcome: 'settled', charged: BigInt(Math.min(actual, 100)), overage: BigInt(Math.max(actual - 100, 0)) });
        charged += Math.min(actual, 100);
        if (actual > 0) settled += 1;
      } else {
        expect(result).toEqual({ outcome: 'released', charged: 0n, overage: 0n });
      }
    });
    expect(results[40]).toEqual({ outcome: 'settled', charged: 30n, overage: 0n });
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 100_000 - charged, reserved: 0, available: 100_000 - charged });
    const ids = [...reserved.map((row) => row.taskId), chat.taskId];
    expect(await countRows("ledger_entries l JOIN reservations r ON r.id = l.ref_id AND l.ref_type = 'reservation' WHERE l.kind = 'charge' AND r.task_id = ANY($1)", [ids])).toBe(settled);
    expect(await countRows("reservations WHERE task_id = ANY($1) AND status = 'held'", [ids])).toBe(0);
    expect(await inflight(owner.keyId)).toBe(0);
    const chatRow = (await ctx.app.deps.db.query<any>('SELECT status, provider, channel_id, credential_id, tried_channels, charged, cost_credits, lease_owner FROM tasks WHERE id = $1', [chat.taskId])).rows[0];
    expect(chatRow).toEqual({ status: 'succeeded', provider: 'openai', channel_id: 'ch_route', credential_id: 'cred_route', tried_channels: ['ch_first', 'ch_route'], charged: 30n, cost_credits: 12n, lease_owner: null });
    const statuses = await ctx.app.deps.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM tasks WHERE id = ANY($1) GROUP BY status ORDER BY status', [ids]);
    expect(statuses.rows).toEqual([{ status: 'failed', n: 20 }, { status: 'succeeded', n: 21 }]);
  });

  it('the same task settled and released concurrently, several times, within groups → exactly one resolution each', async () => {
    const owner = await funded(10_000);
    const tasks = [];
    for (let index = 0; index < 10; index += 1) tasks.push((await reserveTask(ctx.app, { ...owner, cost: 100 })).taskId);
    const now = ctx.app.clock.now();
    const { wallet } = ctx.app.deps;
    const before = stats().resolve;
    const calls = tasks.flatMap((taskId) => [
      wallet.settle(taskId, 60n, now), wallet.release(taskId, 'failed', 'provider_error', now),
      wallet.settle(taskId, 60n, now), wallet.release(taskId, 'cancelled', 'cancelled', now),
      wallet.settle(taskId, 60n, now), wallet.release(taskId, 'failed', 'expired_before_dispatch', now, 'queued'),
    ]);
    const results = await Promise.all(calls);
    expect(stats().resolve.largest).toBeGreaterThan(1);
    expect(stats().resolve.fallbacks).toBe(before.fallbacks);
    let balance = 10_000;
    tasks.forEach((taskId, index) => {
      const mine = results.slice(index * 6, index * 6 + 6);
      const resolutions = mine.filter((result) => result.outcome === 'settled' || result.outcome === 'released');
      expect(resolutions, taskId).toHaveLength(1);
      for (const other of mine) if (!resolutions.includes(other)) expect(['already_resolved', 'skipped']).toContain(other.outcome);
      if (resolutions[0]!.outcome === 'settled') balance -= 60;
    });
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance, reserved: 0, available: balance });
    expect(await countRows("ledger_entries l JOIN reservations r ON r.id = l.ref_id AND l.ref_type = 'reservation' WHERE l.kind = 'charge' AND r.task_id = ANY($1)", [tasks]))
      .toBe((10_000 - balance) / 60);
    expect(await inflight(owner.keyId)).toBe(0);
  });
});

describe('reservation and resolution groups side by side', () => {
  it('two resolve groups (worker key and text-request key) over the same tasks in opposite orders: one resolution each, no deadlock', async () => {
    const owner = await funded(10_000);
    const tasks = [];
    for (let index = 0; index < 20; index += 1) tasks.push((await reserveTask(ctx.app, { ...owner, cost: 100 })).taskId);
    const now = ctx.app.clock.now();
    const { wallet } = ctx.app.deps;
    const before = stats().resolve;
    const item = (taskId: string, outcome: 'settled' | 'released') => ({
      taskId, outcome, finalStatus: outcome === 'settled' ? 'succeeded' : 'failed', actual: outcome === 'settled' ? 40n : 0n,
      errorCode: outcome === 'settled' ? null : 'provider_error', now, onlyIfStatus: null, result: null, cost: null,
    });
    // The first item of each key runs alone at once; the rest of each key form one group, and on PostgreSQL the two keys'
    // groups run side by side, locking the same rows (in id order, D6).
    const forward = tasks.map((taskId) => wallet.resolveInGroup(item(taskId, 'settled'), ''));
    const backward = [...tasks].reverse().map((taskId) => wallet.resolveInGroup(item(taskId, 'released'), `${owner.customerId}:live`));
    const results = await Promise.all([...forward, ...backward]);
    const after = stats().resolve;
    expect(after.fallbacks, 'no group failed (a deadlock would be retried, then split)').toBe(before.fallbacks);
    expect(after.largest).toBeGreaterThan(1);
    let charged = 0;
    tasks.forEach((taskId, index) => {
      const mine = [results[index]!, results[2 * tasks.length - 1 - index]!];
      const resolutions = mine.filter((result) => result.outcome === 'settled' || result.outcome === 'released');
      expect(resolutions, taskId).toHaveLength(1);
      expect(mine.filter((result) => result.outcome === 'already_resolved')).toHaveLength(1);
      if (resolutions[0]!.outcome === 'settled') charged += 40;
    });
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000 - charged, reserved: 0, available: 10_000 - charged });
    expect(await inflight(owner.keyId)).toBe(0);
  });

  it("gather every wallet's reservations, and every wallet's settlements, into the instance's next group of each kind", async () => {
    const owners = [await funded(10_000), await funded(10_000), await funded(10_000)];
    const { wallet } = ctx.app.deps;
    const before = stats();
    // Three wallets' reservations (and then settlements) arrive in the same turn: queued per wallet they would go as
    // three groups of one each.
    const reserved = await Promise.all(owners.map((owner, index) => reserveTask(ctx.app, { ...owner, cost: 100 * (index + 1) })));
    expect(reserved.map((result) => result.outcome)).toEqual(['created', 'created', 'created']);
    const middle = stats();
    expect(middle.reserve.items - before.reserve.items).toBe(3);
    expect(middle.reserve.groups - before.reserve.groups).toBeLessThan(3);
    expect(middle.reserve.fallbacks).toBe(before.reserve.fallbacks);
    for (const [index, owner] of owners.entries()) {
      expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 100 * (index + 1), available: 10_000 - 100 * (index + 1) });
    }
    const now = ctx.app.clock.now();
    const settled = await Promise.all(reserved.map((result, index) => wallet.settle(result.taskId, BigInt(10 * (index + 1)), now)));
    expect(settled.map((result) => [result.outcome, result.charged])).toEqual([['settled', 10n], ['settled', 20n], ['settled', 30n]]);
    const after = stats();
    expect(after.resolve.items - middle.resolve.items).toBe(3);
    expect(after.resolve.groups - middle.resolve.groups).toBeLessThan(3);
    expect(after.resolve.fallbacks).toBe(middle.resolve.fallbacks);
    for (const [index, owner] of owners.entries()) {
      expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000 - 10 * (index + 1), reserved: 0, available: 10_000 - 10 * (index + 1) });
      expect(await inflight(owner.keyId)).toBe(0);
    }
    expect(await ctx.app.invariants()).toEqual({});
  });

  it('reservations and resolutions of one wallet committed in groups at the same time keep the books exact', async () => {
    const owner = await funded(5_000);
    const open = [];
    for (let index = 0; index < 20; index += 1) open.push((await reserveTask(ctx.app, { ...owner, cost: 100 })).taskId);
    // 2,000 of 5,000 reserved; 20 settle at 30 each (600 charged), while 40 more reservations of 100 ask for 4,000.
    const now = ctx.app.clock.now();
    const { wallet } = ctx.app.deps;
    const settles = open.map((taskId) => wallet.settle(taskId, 30n, now));
    const reserves = Array.from({ length: 40 }, () => reserveTask(ctx.app, { ...owner, cost: 100 }));
    const [settled, reserved] = await Promise.all([Promise.all(settles), Promise.allSettled(reserves)]);
    expect(settled.every((result) => result.outcome === 'settled' && result.charged === 30n)).toBe(true);
    const counts = outcomes(reserved);
    const created = counts.created ?? 0;
    // At least what was free before any settlement (3,000 → 30), at most what is free after all of them (4,400 → 40).
    expect(created).toBeGreaterThanOrEqual(30);
    expect(created + (counts.insufficient_credits ?? 0)).toBe(40);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 4400, reserved: created * 100, available: 4400 - created * 100 });
    expect(await inflight(owner.keyId)).toBe(created);
    expect(await ctx.app.invariants()).toEqual({});
  });
});

describe.runIf(ENGINE === 'postgres')('lock order under load (D6)', () => {
  it('reservation groups and settlement groups of one wallet, interleaved as chat requests are, never deadlock', async () => {
    const owner = await funded(10_000_000);
    const { wallet, db } = ctx.app.deps;
    const deadlocks = async () => Number((await db.query<{ n: bigint }>('SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n);
    const before = await deadlocks();
    const fallbacks = wallet.reserveGroups.stats.fallbacks + wallet.resolveGroups.stats.fallbacks;
    let open: string[] = [];
    for (let round = 0; round < 25; round += 1) {
      // Each round settles the last round's tasks one by one (lone and grouped settlements) while new ones reserve.
      const now = ctx.app.clock.now();
      const settles = open.map((taskId, index) => (index % 2 === 0 ? wallet.settle(taskId, 7n, now) : wallet.release(taskId, 'failed', 'provider_error', now)));
      const reserves = Array.from({ length: 12 }, () => reserveTask(ctx.app, { ...owner, cost: 100 }));
      const [, reserved] = await Promise.all([Promise.all(settles), Promise.all(reserves)]);
      open = reserved.map((result) => result.taskId);
    }
    expect(await deadlocks()).toBe(before);
    expect(wallet.reserveGroups.stats.fallbacks + wallet.resolveGroups.stats.fallbacks).toBe(fallbacks);
    expect(await ctx.app.invariants()).toEqual({});
  });
});

describe.runIf(ENGINE === 'postgres')('GR409: a twin transaction holds an idempotency key of the group', () => {
  /** Opens a transaction on its own connection that reserves `input` with gr_create_task and waits to commit. */
  async function openTwin(input: ReserveInput): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: ctx.app.database.url! });
    await client.connect();
    await client.query('BEGIN');
    const created = await client.query(
      'SELECT id FROM gr_create_task($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
      [input.taskId, input.customerId, input.mode, input.apiKeyId, input.maxConcurrency, input.idempotencyKey, input.fingerprint,
        String(input.cost), input.now, input.expiresAt, input.hardDeadline, input.type, input.model, JSON.stringify(input.request), input.reservationId],
    );
    expect(created.rows).toEqual([{ id: input.taskId }]);
    return client;
  }

  /** Waits until a reservation statement of the app (a group, or a lone item) waits on a lock. */
  async function groupBlocked(): Promise<void> {
    for (let attempt = 0; attempt < 500; attempt += 1) {
      const waiting = await ctx.app.deps.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND (query LIKE '%FROM gr_reserve_group(%' OR query LIKE '%FROM gr_create_task(%')`,
      );
      if (waiting.rows[0]!.n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the group never waited on the twin transaction');
  }

  async function runScenario(twinMode: 'live' | 'test', twinFingerprint: string) {
    const owner = await funded(10_000);
    await ctx.app.grant(owner.customerId, 10_000, 'test');
    const twinKey = twinMode === 'live' ? owner.keyId : await extraKey(owner.customerId, 'test');
    const twinInput = { ...reserveInput({ customerId: owner.customerId, keyId: twinKey }, 100, { idempotencyKey: 'K', fingerprint: twinFingerprint }), mode: twinMode };
    const twin = await openTwin(twinInput);
    try {
      const before = stats().reserve;
      const inputs = [
        reserveInput(owner, 100), // the pilot: runs alone at once
        reserveInput(owner, 100),
        reserveInput(owner, 100, { idempotencyKey: 'K', fingerprint: 'fp-k' }),
        reserveInput(owner, 100, { idempotencyKey: 'other', fingerprint: 'fp-o' }),
        reserveInput(owner, 100),
      ];
      const pending = inputs.map((input) => ctx.app.deps.wallet.reserve(input));
      const settled = Promise.allSettled(pending);
      if (twinMode === 'test') await pending[0]; // the twin locks another wallet: the pilot is not held up
      await groupBlocked();
      await twin.query('COMMIT');
      const results = await settled;
      const after = stats().reserve;
      expect(after.fallbacks, 'the group was retried, not split into items').toBe(before.fallbacks);
      expect(after.items - before.items).toBe(inputs.length);
      expect(after.groups - before.groups).toBe(2); // the pilot alone, then the rest (with K) as one group
      return { owner, twinInput, inputs, results };
    } finally {
      await twin.end().catch(() => {});
    }
  }

  it('twin in the other mode (no shared lock): the group meets the key at INSERT, raises GR409, is run again and answers with the twin\'s task', async () => {
    const { owner, twinInput, inputs, results } = await runScenario('test', 'fp-k');
    results.forEach((result, index) => {
      expect(result.status, String((result as PromiseRejectedResult).reason)).toBe('fulfilled');
      const value = (result as PromiseFulfilledResult<{ outcome: string; taskId: string }>).value;
      // Same fingerprint, but the twin's task is in the other mode: a conflict (I5/I6), pointing at the twin's task.
      if (index === 2) expect(value).toMatchObject({ outcome: 'conflict', taskId: twinInput.taskId });
      else expect(value).toMatchObject({ outcome: 'created', taskId: inputs[index]!.taskId });
    });
    expect(await countRows('tasks WHERE customer_id = $1 AND idempotency_key = $2', [owner.customerId, 'K'])).toBe(1);
    expect(await countRows('tasks WHERE id = $1', [inputs[2]!.taskId])).toBe(0);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 400, available: 9600 });
    expect(await walletState(ctx.app, owner.customerId, 'test')).toEqual({ balance: 10_000, reserved: 100, available: 9900 });
    expect(await ctx.app.invariants()).toEqual({});
  });

  it('twin in the same mode with the same request: the group waits for its locks and answers K as a replay', async () => {
    const { owner, twinInput, inputs, results } = await runScenario('live', 'fp-k');
    results.forEach((result, index) => {
      expect(result.status, String((result as PromiseRejectedResult).reason)).toBe('fulfilled');
      const value = (result as PromiseFulfilledResult<{ outcome: string; taskId: string }>).value;
      if (index === 2) expect(value).toMatchObject({ outcome: 'replay', taskId: twinInput.taskId });
      else expect(value).toMatchObject({ outcome: 'created', taskId: inputs[index]!.taskId });
    });
    expect(await countRows('tasks WHERE customer_id = $1 AND idempotency_key = $2', [owner.customerId, 'K'])).toBe(1);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 500, available: 9500 });
    expect(await ctx.app.invariants()).toEqual({});
  });

  it('twin in the same mode with another request: K is a conflict, the others are created', async () => {
    const { owner, twinInput, results } = await runScenario('live', 'fp-twin');
    const values = results.map((result) => (result as PromiseFulfilledResult<{ outcome: string; taskId: string }>).value);
    expect(values.map((value) => value.outcome)).toEqual(['created', 'created', 'conflict', 'created', 'created']);
    expect(values[2]!.taskId).toBe(twinInput.taskId);
    expect(await countRows('tasks WHERE customer_id = $1 AND idempotency_key = $2', [owner.customerId, 'K'])).toBe(1);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 500, available: 9500 });
  });
});

describe('record groups of finished text requests (credit leases)', () => {
  it("gather the requests of every wallet into the instance's next group, each charged to its own wallet and lease", async () => {
    const leases = ctx.app.deps.leases!;
    const owners = [await funded(10_000), await funded(10_000), await funded(10_000)];
    const admissions: LeaseAdmission[] = [];
    for (const owner of owners) admissions.push((await leases.admit(owner.customerId, 'live', 100n))!);
    const before = { ...leases.records.stats };
    const now = ctx.app.clock.now();
    // Three wallets' requests end in the same turn: queued per wallet they would go as three groups of one.
    const results = await Promise.all(owners.map((owner, index) => {
      const input = reserveInput(owner, 100);
      const request = {
        taskId: input.taskId, reservationId: input.reservationId, customerId: owner.customerId, mode: 'live' as const, apiKeyId: owner.keyId,
        type: 'chat', model: input.model, request: input.request, now, expiresAt: input.expiresAt, hardDeadline: input.hardDeadline,
        priceVersion: input.priceVersion, pricePercent: input.pricePercent,
      };
      return leases.record(admissions[index]!, request, {
        outcome: 'settled', finalStatus: 'succeeded', actual: BigInt(10 * (index + 1)), errorCode: null, cost: null, now, route: null,
      });
    }));
    expect(results.map((result) => [result.outcome, result.charged, result.fromLease])).toEqual([['settled', 10n, 10n], ['settled', 20n, 20n], ['settled', 30n, 30n]]);
    expect(leases.records.stats.items - before.items).toBe(3);
    expect(leases.records.stats.groups - before.groups).toBeLessThan(3);
    expect(leases.records.stats.largest).toBeGreaterThanOrEqual(2);
    for (const [index, owner] of owners.entries()) {
      expect((await walletState(ctx.app, owner.customerId)).balance).toBe(10_000 - 10 * (index + 1));
    }
    expect(await ctx.app.invariants()).toEqual({});
  });
});

describe('group functions reuse their plans', () => {
  it('gr_reserve_group (migration 0027) and gr_record_many (0024, 0029) run with generic plans and no scans, as their callers rely on', async () => {
    const settings = await ctx.app.deps.db.query<{ proname: string; proconfig: string[] }>(
      "SELECT proname, proconfig FROM pg_proc WHERE proname IN ('gr_reserve_group', 'gr_record_many') ORDER BY proname");
    expect(settings.rows.map((row) => row.proname)).toEqual(['gr_record_many', 'gr_reserve_group']);
    for (const row of settings.rows) {
      expect(row.proconfig).toEqual(expect.arrayContaining(['plan_cache_mode=force_generic_plan', 'enable_seqscan=off', 'enable_hashjoin=off']));
    }
  });
});
