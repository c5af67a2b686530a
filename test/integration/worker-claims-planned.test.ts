import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TaskService } from '../../src/modules/tasks/service.js';
import { reserveRunner } from '../../src/modules/wallet/groups.js';
import { testEngine } from '../harness/databases.js';
import { useTestApp } from '../harness/setup.js';
import { reserveInput } from '../harness/tasks.js';

/**
 * The worker's claims and task write groups read what they claim or write, not every open task (migration 0022,
 * issue 14). On a table whose statistics say it is nearly empty — a fresh install until autovacuum's next ANALYZE —
 * the planner left to itself bitmap-scanned every due task and sorted them for a claim of ten, and hash-joined
 * every running task for an observation group of five: the cost grew with the work in flight. Each step below runs
 * in a fresh session (no cached plan) inside a transaction, and PostgreSQL's own counters for that transaction say how
 * many index entries and rows of `tasks` it read.
 */
const ctx = useTestApp();
const OPEN = 300;

interface Reads {
  seq_scan: number;
  /** Rows fetched from the table through an index. */
  idx_tup_fetch: number;
  /** Entries read from the table's indexes. */
  idx_tup_read: number;
}

describe.runIf(testEngine() === 'postgres')('worker claims and write groups, planned as index lookups', () => {
  it('claim 10 of 300 due tasks, observe or accept 5 of 300: the reads follow the rows touched, not the open tasks', async () => {
    const db = ctx.app.deps.db;
    // Statistics taken while the table is (nearly) empty, as on a fresh install — and kept so: autovacuum would analyze
    // the table again after the 900 rows below, at a moment that depends on the load of the machine (in full runs the
    // held claim then read 12 and 22 entries instead of the usual 10 or fewer).
    await db.query('ALTER TABLE tasks SET (autovacuum_enabled = false)');
    await db.query('ANALYZE tasks');
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 10_000_000, 'live');
    const owner = { customerId: customer.id as string, keyId: key.id as string };
    const reserve = reserveRunner(db);
    const ids: string[] = [];
    for (let round = 0; round < (3 * OPEN) / 100; round += 1) {
      const rows = await reserve.run(Array.from({ length: 100 }, () => reserveInput(ctx.app, { ...owner, cost: 10 })));
      ids.push(...rows.map((row) => row.task!.id));
    }
    const now = ctx.app.clock.now();
    const past = new Date(now.getTime() - 60_000);
    // 300 queued and due, 300 running and due for a check, 300 dispatching under a live lease of worker wrk_a.
    const queued = ids.slice(0, OPEN);
    const running = ids.slice(OPEN, 2 * OPEN);
    const dispatching = ids.slice(2 * OPEN);
    await db.query(`UPDATE tasks SET next_action_at = $2 WHERE id = ANY($1::text[])`, [queued, past]);
    await db.query(
      `UPDATE tasks SET status = 'running', provider = 'sandbox', provider_task_id = id, operation = '{}', submitted_at = $2,
                        next_action_at = $2 WHERE id = ANY($1::text[])`,
      [running, past],
    );
    await db.query(
      `UPDATE tasks SET status = 'dispatching', lease_owner = 'wrk_a', lease_until = $2, next_action_at = $2, attempts = 1
        WHERE id = ANY($1::text[])`,
      [dispatching, new Date(now.getTime() + 60_000)],
    );

    let client = new pg.Client({ connectionString: ctx.app.database.url! });
    await client.connect();
    const reads = async (): Promise<Reads> => {
      const row = (await client.query<Record<keyof Reads, string>>(
        `SELECT seq_scan, COALESCE(idx_tup_fetch, 0) AS idx_tup_fetch,
                (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index
                  WHERE indrelid = 'tasks'::regclass) AS idx_tup_read
           FROM pg_stat_xact_user_tables WHERE relname = 'tasks'`)).rows[0]!;
      return { seq_scan: Number(row.seq_scan), idx_tup_fetch: Number(row.idx_tup_fetch), idx_tup_read: Number(row.idx_tup_read) };
    };
    /**
     * Runs `step` in a transaction of the test's session and answers what it read of `tasks`: the counters' change
     * (they also hold earlier transactions of the session until they are flushed, about once a second).
     */
    const measured = async (step: (tasks: TaskService) => Promise<number>): Promise<{ touched: number; reads: Reads }> => {
      await client.query('BEGIN');
      try {
        const before = await reads();
        const session = { engine: 'postgres', query: (text: string, values?: unknown[]) => client.query(text, values) };
        const touched = await step(new TaskService(session as never));
        const after = await reads();
        return {
          touched,
          reads: { seq_scan: after.seq_scan - before.seq_scan, idx_tup_fetch: after.idx_tup_fetch - before.idx_tup_fetch, idx_tup_read: after.idx_tup_read - before.idx_tup_read },
        };
      } finally {
        await client.query('ROLLBACK');
      }
    };
    try {
      // The claim's ordered scan and the update's key lookups: a few entries per row touched, not 300. Under a hold the
      // claim reads its candidates by model (a probe or two per model with open tasks, at most the limit per model), then
      // takes each by primary key (a locking read and an update): a few more.
      const bounded = (outcome: { touched: number; reads: Reads }, touched: number, perRow = 4, fixed = 10) => {
        expect(outcome.touched).toBe(touched);
        expect(outcome.reads.seq_scan).toBe(0);
        expect(outcome.reads.idx_tup_read).toBeLessThanOrEqual(perRow * touched + fixed);
        expect(outcome.reads.idx_tup_fetch).toBeLessThanOrEqual(perRow * touched + fixed);
      };
      // Each more than the five times after which PostgreSQL may keep a generic plan for the session.
      for (let round = 0; round < 7; round += 1) {
        bounded(await measured(async (tasks) => (await tasks.claimForDispatch('wrk_b', now, 10)).length), 10);
        // Checks overdue for 60 s hold the model's queued tasks under a 30 s hold, and not under a 90 s one. Held, the
        // claim reads by model (migration 0023): a probe for the model, one for its overdue check, an empty range of
        // expired dispatches — not the 300 queued tasks it holds back. The probe starts where this round's and the
        // earlier rounds' claims took their tasks (the earliest due): their old index entries stay until pruned, and
        // while a snapshot of another session keeps them from being marked dead the probe steps over them (a CI run
        // read 18, where a quiet one reads 10 or fewer) — so the bound grows by the ten claimed per claim so far.
        const held = await measured(async (tasks) => (await tasks.claimForDispatch('wrk_b', now, 10, [], 30_000)).length);
        expect(held.touched).toBe(0);
        expect(held.reads.seq_scan).toBe(0);
        expect(held.reads.idx_tup_read).toBeLessThanOrEqual(10 + 10 * (round + 1));
        expect(held.reads.idx_tup_fetch).toBeLessThanOrEqual(10 + 10 * (round + 1));
        bounded(await measured(async (tasks) => (await tasks.claimForDispatch('wrk_b', now, 10, [], 90_000)).length), 10, 6, 20);
        bounded(await measured(async (tasks) => (await tasks.claimForPoll(now, 10)).length), 10);
        bounded(await measured(async (tasks) => {
          const applied = await tasks.observeGroups.submit({ id: running[0]!, status: 'running', progress: 5, nextPollAt: now, now });
          const group = await Promise.all(running.slice(1, 5).map((id) => tasks.observeGroups.submit({ id, status: 'running', progress: 5, nextPollAt: now, now })));
          return [applied, ...group].filter(Boolean).length;
        }), 5);
        bounded(await measured(async (tasks) => {
          const recorded = await Promise.all(dispatching.slice(0, 5).map((id) => tasks.markSubmitted(id, 'wrk_a', {
            provider: 'sandbox', channelId: null, credentialId: null, providerTaskId: `up_${id}`, operation: {}, nextPollAt: now,
          }, now)));
          return recorded.filter(Boolean).length;
        }), 5);
      }

      // Under the hold, a held model's dispatches whose lease ran out (T6) are still taken back, and another model's
      // queued tasks are claimed, earliest due first, while the held model's 300 queued tasks stay and are not read.
      const expired = dispatching.slice(0, 3);
      await db.query('UPDATE tasks SET lease_until = $2, next_action_at = $2 WHERE id = ANY($1::text[])', [expired, past]);
      const others: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const at = new Date(now.getTime() - 5_000 + index * 1_000);
        const [row] = await reserve.run([reserveInput(ctx.app, { ...owner, cost: 10, model: 'other-model', now: at })]);
        others.push(row!.task!.id as string);
      }
      const mixedRounds = async () => {
        for (let round = 0; round < 7; round += 1) {
          let claimed: string[] = [];
          const mixed = await measured(async (tasks) => {
            claimed = (await tasks.claimForDispatch('wrk_b', now, 10, [], 30_000)).map((task) => task.id);
            return claimed.length;
          });
          bounded(mixed, 8, 6, 20);
          expect(new Set(claimed)).toEqual(new Set([...expired, ...others]));
          // A limit of 4 takes the earliest due: the three expired leases (due a minute ago), then the other model's first.
          const first = await measured(async (tasks) => {
            claimed = (await tasks.claimForDispatch('wrk_b', now, 4, [], 30_000)).map((task) => task.id);
            return claimed.length;
          });
          bounded(first, 4, 6, 20);
          expect(new Set(claimed)).toEqual(new Set([...expired, others[0]!]));
        }
        // The poll claim in the same state: ten of the 300 due status checks.
        bounded(await measured(async (tasks) => (await tasks.claimForPoll(now, 10)).length), 10);
      };
      await mixedRounds();

      // The same with the statistics of a table that has open work (autovacuum's ANALYZE after the rows above), and a
      // new session (no plan kept): with them, 0023's claim read a held model's probe for an overdue status check from
      // tasks_poll_idx and stepped over all 300 overdue checks (about 320 entries); 0025 walks the model index.
      await db.query('ANALYZE tasks');
      await client.end();
      client = new pg.Client({ connectionString: ctx.app.database.url! });
      await client.connect();
      await mixedRounds();
    } finally {
      await client.end();
    }
  });

  it('two workers claiming under a hold at once take different tasks: rows the other holds are skipped, not waited for', async () => {
    const db = ctx.app.deps.db;
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 10_000_000, 'live');
    const owner = { customerId: customer.id as string, keyId: key.id as string };
    const reserve = reserveRunner(db);
    const now = ctx.app.clock.now();
    // The test above leaves open tasks due: out of the claims' reach (a day ahead), so only this test's tasks are due.
    const later = new Date(now.getTime() + 86_400_000);
    await db.query(
      `UPDATE tasks SET next_action_at = $1, lease_until = CASE WHEN status = 'dispatching' THEN $1 ELSE lease_until END
        WHERE status IN ('queued', 'dispatching')`,
      [later],
    );
    // 40 queued tasks of a free model, due a second apart; 20 of a held one (a status check of its running task is a
    // minute overdue).
    const free = (await reserve.run(Array.from({ length: 40 }, () => reserveInput(ctx.app, { ...owner, cost: 10, model: 'free-model' }))))
      .map((row) => row.task!.id as string);
    const held = (await reserve.run(Array.from({ length: 20 }, () => reserveInput(ctx.app, { ...owner, cost: 10, model: 'held-model' }))))
      .map((row) => row.task!.id as string);
    await db.query(
      `UPDATE tasks SET next_action_at = $2::timestamptz + array_position($1::text[], id) * interval '1 second' WHERE id = ANY($1::text[])`,
      [free, new Date(now.getTime() - 60_000)],
    );
    await db.query('UPDATE tasks SET next_action_at = $2 WHERE id = ANY($1::text[])', [held, new Date(now.getTime() - 90_000)]);
    await db.query(
      `UPDATE tasks SET status = 'running', provider = 'sandbox', provider_task_id = id, operation = '{}', submitted_at = $2,
                        next_action_at = $2 WHERE id = $1`,
      [held[0], new Date(now.getTime() - 60_000)],
    );
    const clients = [new pg.Client({ connectionString: ctx.app.database.url! }), new pg.Client({ connectionString: ctx.app.database.url! })];
    await Promise.all(clients.map((client) => client.connect()));
    const claim = async (client: pg.Client, owner: string) => {
      const session = { engine: 'postgres', query: (text: string, values?: unknown[]) => client.query(text, values) };
      return (await new TaskService(session as never).claimForDispatch(owner, now, 15, [], 30_000)).map((task) => task.id);
    };
    try {
      // The first claim's transaction stays open, so its 15 rows stay locked while the second claims.
      await clients[0]!.query('BEGIN');
      const first = await claim(clients[0]!, 'wrk_a');
      const second = await claim(clients[1]!, 'wrk_b');
      await clients[0]!.query('COMMIT');
      const third = await claim(clients[1]!, 'wrk_c');
      // Earliest due first, each task once: the first 15, the next 15, the last 10; the held model's stay queued.
      expect(first).toEqual(free.slice(0, 15));
      expect(second).toEqual(free.slice(15, 30));
      expect(third).toEqual(free.slice(30));
      const states = await db.query<{ status: string; lease_owner: string | null; count: string }>(
        'SELECT status, lease_owner, count(*) FROM tasks WHERE id = ANY($1::text[]) GROUP BY 1, 2 ORDER BY 1, 2', [[...free, ...held]]);
      expect(states.rows.map((row) => [row.status, row.lease_owner, Number(row.count)])).toEqual([
        ['dispatching', 'wrk_a', 15], ['dispatching', 'wrk_b', 15], ['dispatching', 'wrk_c', 10], ['queued', null, 19], ['running', null, 1],
      ]);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });
});
