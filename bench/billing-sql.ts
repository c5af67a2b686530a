/**
 * PostgreSQL's own cost of billing a chat request (issue 14): `npm run bench:billing -- [groups=300] [size=10]
 * [repeats=3] [postgres|embedded]`. On a fresh database (migrated, dropped at the end) with one customer, one live key and one wallet, it
 * sends what genrelay's chat path sends — `reserveRunner` and `resolveRunner` of src/modules/wallet/groups.ts, the
 * same two group statements, with the items `runTextRequest` builds (a `dispatching` chat task under the handler's
 * lease, then its settlement with the route that served it) — in groups of `size`, one group after the other on one
 * connection, and prints the CPU the PostgreSQL backend of that connection spent per billed request (user + system
 * from /proc), split between the reservation and the settlement statements, `repeats` times. A second line per repeat
 * measures the same requests admitted on a credit lease (CREDIT_LEASES, the default): each written once when it ends,
 * by `recordRunner`'s one group statement (gr_record_group), on a lease taken once at the start.
 *
 * Nothing else runs: no HTTP, no mock, no load generator, no other backend. The figure moves with the host much less
 * than a whole-server benchmark's (compare two versions of the group functions by alternating them), and says what
 * billing costs the database whatever the rest of the request costs. Linux only (/proc); TEST_DATABASE_URL names the
 * server (default postgres://postgres@127.0.0.1:5432/postgres). BENCH_BILLING_SQL names a file of SQL run after the
 * migrations — a changed group function, an index more or less — to measure a change before writing its migration.
 *
 * `embedded`: the same statements on the embedded engine (PGlite, in this process, on a fresh data directory), and the
 * CPU is this process's (the database runs on its thread, so that is the database's cost plus the runner's few
 * lines of JavaScript).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { createIdGenerator } from '../src/lib/ids.js';
import { reserveRunner, resolveRunner, type ResolveItem } from '../src/modules/wallet/groups.js';
import type { ReserveInput } from '../src/modules/wallet/types.js';
import { recordRunner } from '../src/modules/wallet/leases.js';
import { adminQuery, databaseUrl } from '../test/harness/databases.js';

const [groupsArg = '300', sizeArg = '10', repeatsArg = '3', engine = 'postgres'] = process.argv.slice(2);
const EMBEDDED = engine === 'embedded';
const GROUPS = Number(groupsArg);
const SIZE = Number(sizeArg);
const REPEATS = Number(repeatsArg);
const WARMUP_GROUPS = 50;
const clock = { now: () => new Date() };
const ids = createIdGenerator(clock);

/** Milliseconds of CPU the backend `pid` has used (user + system; USER_HZ = 100). */
function backendProcessCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function seed(db: Db): Promise<{ customerId: string; keyId: string }> {
  const customerId = ids('cus');
  const keyId = ids('key');
  const now = clock.now();
  await db.query('INSERT INTO customers (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)', [customerId, 'bench', now]);
  await db.query(
    `INSERT INTO api_keys (id, customer_id, name, mode, key_hash, key_prefix, created_by, created_at, updated_at)
     VALUES ($1, $2, 'bench', 'live', $3, 'gr_live_bench', 'bench', $4, $4)`,
    [keyId, customerId, randomBytes(32).toString('hex'), now],
  );
  await db.query(`INSERT INTO wallets (id, customer_id, mode, balance, reserved, updated_at) VALUES ($1, $2, 'live', $3, 0, $4)`,
    [ids('wal'), customerId, 9_000_000_000_000_000n, now]);
  return { customerId, keyId };
}

/** Milliseconds of CPU this process has used (user + system). */
function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function main(): Promise<void> {
  const name = `gr_bench_billing_${randomBytes(4).toString('hex')}`;
  const dataDir = EMBEDDED ? mkdtempSync(join(tmpdir(), 'genrelay-billing-')) : '';
  if (!EMBEDDED) await adminQuery(`CREATE DATABASE ${name}`);
  // One connection: its backend is the one measured.
  const db = await openDb({ databaseUrl: EMBEDDED ? null : databaseUrl(name), dataDir, poolSize: 1 });
  try {
    await migrate(db);
    if (process.env.BENCH_BILLING_SQL) await db.query(readFileSync(process.env.BENCH_BILLING_SQL, 'utf8'));
    const owner = await seed(db);
    const pid = EMBEDDED ? 0 : Number((await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const backendCpuMs = (at: number) => (EMBEDDED ? processCpuMs() : backendProcessCpuMs(at));
    const reserve = reserveRunner(db);
    const resolve = resolveRunner(db);
    const spent = { reserve: 0, resolve: 0 };
    // As runTextRequest: a chat task held under the handler's lease, settled at its usage with the route that served it.
    async function group(): Promise<void> {
      const now = clock.now();
      const leaseUntil = new Date(now.getTime() + 600_000);
      const inputs: ReserveInput[] = Array.from({ length: SIZE }, () => ({
        taskId: ids('task'), reservationId: ids('res'), customerId: owner.customerId, mode: 'live', apiKeyId: owner.keyId,
        maxConcurrency: null, idempotencyKey: null, fingerprint: null, cost: 1_200n, now, expiresAt: leaseUntil,
        hardDeadline: new Date(leaseUntil.getTime() + 60_000), type: 'chat', model: 'grok-4-fast',
        request: { prompt: '', references: [] }, initialStatus: 'dispatching', leaseOwner: 'http', leaseUntil,
        priceVersion: 1, pricePercent: 100,
      }));
      const before = backendCpuMs(pid);
      const reserved = await reserve.run(inputs);
      const between = backendCpuMs(pid);
      const items: ResolveItem[] = reserved.map((row, index) => {
        if (row.outcome !== 'created') throw new Error(`reservation ${row.outcome}`);
        return {
          taskId: inputs[index]!.taskId, outcome: 'settled', finalStatus: 'succeeded', actual: 37n, errorCode: null, now: clock.now(),
          onlyIfStatus: null, result: null, cost: 3n,
          route: { provider: 'openai-compatible', channelId: 'chn_bench', credentialId: 'crd_bench', triedChannels: [] },
        };
      });
      const resolved = await resolve.run(items);
      if (resolved.some((row) => row.outcome !== 'settled')) throw new Error('a settlement did not settle');
      spent.reserve += between - before;
      spent.resolve += backendCpuMs(pid) - between;
    }
    // As runTextRequest on a lease: nothing written when the request arrives; its final rows at the end, in one statement.
    const record = recordRunner(db);
    const leaseId = ids('lse');
    await db.query('SELECT gr_lease_take($1, $2, $3, $4, $5, $6, $7, $8)',
      [leaseId, owner.customerId, 'live', 'bench', 1_000_000_000_000n, 1_000_000_000_000n, clock.now(), new Date(Date.now() + 3_600_000)]);
    let recordSpent = 0;
    async function recordGroup(): Promise<void> {
      const now = clock.now();
      const leaseUntil = new Date(now.getTime() + 600_000);
      const before = backendCpuMs(pid);
      const rows = await record.run(Array.from({ length: SIZE }, () => ({
        request: {
          taskId: ids('task'), reservationId: ids('res'), customerId: owner.customerId, mode: 'live' as const, apiKeyId: owner.keyId,
          type: 'chat', model: 'grok-4-fast', request: { prompt: '', references: [] }, now, expiresAt: leaseUntil,
          hardDeadline: new Date(leaseUntil.getTime() + 60_000), priceVersion: 1, pricePercent: 100,
        },
        ending: {
          outcome: 'settled' as const, finalStatus: 'succeeded' as const, actual: 37n, errorCode: null, cost: 3n, now,
          route: { provider: 'openai-compatible', channelId: 'chn_bench', credentialId: 'crd_bench', triedChannels: [] },
        },
        hold: 1_200n, leaseId,
      })));
      if (rows.some((row) => row.outcome !== 'settled' || row.fromLease !== 37n)) throw new Error('a record was not charged to its lease');
      recordSpent += backendCpuMs(pid) - before;
    }
    for (let index = 0; index < WARMUP_GROUPS; index += 1) await group();
    for (let index = 0; index < WARMUP_GROUPS; index += 1) await recordGroup();
    console.log(`${EMBEDDED ? 'Embedded engine (this process)' : 'PostgreSQL backend'} CPU per billed chat request, ${GROUPS} groups of ${SIZE} per line (reservation + settlement):`);
    for (let repeat = 0; repeat < REPEATS; repeat += 1) {
      spent.reserve = 0;
      spent.resolve = 0;
      const started = performance.now();
      for (let index = 0; index < GROUPS; index += 1) await group();
      const requests = GROUPS * SIZE;
      const wall = (performance.now() - started) / requests;
      console.log(`  ${((spent.reserve + spent.resolve) / requests).toFixed(3)} ms (reservation ${(spent.reserve / requests).toFixed(3)}, settlement ${(spent.resolve / requests).toFixed(3)}); wall ${wall.toFixed(3)} ms per request`);
      recordSpent = 0;
      const leased = performance.now();
      for (let index = 0; index < GROUPS; index += 1) await recordGroup();
      console.log(`  ${(recordSpent / requests).toFixed(3)} ms on a credit lease (written once); wall ${((performance.now() - leased) / requests).toFixed(3)} ms per request`);
    }
  } finally {
    await db.close();
    if (EMBEDDED) rmSync(dataDir, { recursive: true, force: true });
    else await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
