import type { Db, Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import { MAX_CREDITS } from '../../lib/money.js';
import type { TaskRow } from '../tasks/types.js';
import type { IdGenerator } from '../../lib/ids.js';
import { GroupCommitter, type GroupCommitOptions } from '../../db/group-commit.js';
import { reserveRunner, resolveRunner, type ReserveRow, type ResolveItem } from './groups.js';
import { insertFile, type FileItem } from '../media/file-groups.js';
import type {
  Balance,
  LedgerEntryRow,
  Mode,
  ReserveInput,
  ReserveOutcome,
  ResolveResult,
  WalletRow,
} from './types.js';

/**
 * The wallet owns wallets, reservations and ledger entries (ARCHITECTURE rule 1). Every balance change is one
 * guarded statement (SEMANTICS D4); holds move held → settled | released exactly once through gr_resolve_hold.
 */
export const MODES: readonly Mode[] = ['live', 'test'];

export interface CreditInput {
  customerId: string;
  mode: Mode;
  amount: bigint;
  reason: string;
  /** Idempotency reference, scoped to the wallet (M6); when absent the audit row id is used. */
  reference: string | null;
  auditId: bigint;
  now: Date;
}

export interface CreditResult {
  entry: LedgerEntryRow;
  wallet: WalletRow;
  duplicate: boolean;
}

/**
 * Group commit limits (issue 14). PostgreSQL runs up to 8 groups side by side (each holds a pool connection; the
 * wallet's reservations, resolutions and records are one queue each, the task engine's writes others); embedded runs
 * one, since PGlite has one session, and, when PGlite runs on the server's thread, gathers each group from the
 * requests read in two turns of the event loop (`deferSend`).
 */
export function groupOptions(db: Pick<Db, 'engine' | 'blocksThread'>): GroupCommitOptions {
  if (db.engine === 'postgres') return { maxGroup: 256, maxInFlight: 8 };
  return { maxGroup: 256, maxInFlight: 1, deferSend: db.blocksThread === true };
}

export class WalletService {
  /** Reservations and resolutions outside a caller's transaction are committed in groups (issue 14). */
  readonly reserveGroups: GroupCommitter<ReserveInput, ReserveRow>;
  readonly resolveGroups: GroupCommitter<ResolveItem, ResolveResult>;

  constructor(
    private readonly db: Db,
    private readonly ids: IdGenerator,
    options: GroupCommitOptions = groupOptions(db),
  ) {
    this.reserveGroups = new GroupCommitter(reserveRunner(db), options);
    this.resolveGroups = new GroupCommitter(resolveRunner(db), options);
  }

  async createWallets(tx: Queryable, customerId: string, now: Date): Promise<void> {
    for (const mode of MODES) {
      await tx.query('INSERT INTO wallets (id, customer_id, mode, updated_at) VALUES ($1, $2, $3, $4)', [
        this.ids('wal'),
        customerId,
        mode,
        now,
      ]);
    }
  }

  async balances(customerIds: string[], db: Queryable = this.db): Promise<Map<string, Record<Mode, Balance>>> {
    const result = await db.query<WalletRow>('SELECT * FROM wallets WHERE customer_id = ANY($1::text[])', [
      customerIds,
    ]);
    const out = new Map<string, Record<Mode, Balance>>();
    for (const row of result.rows) {
      const entry = out.get(row.customer_id) ?? ({} as Record<Mode, Balance>);
      entry[row.mode] = toBalance(row);
      out.set(row.customer_id, entry);
    }
    return out;
  }

  async balance(customerId: string, mode: Mode, db: Queryable = this.db): Promise<Balance> {
    const result = await db.query<WalletRow>('SELECT * FROM wallets WHERE customer_id = $1 AND mode = $2', [
      customerId,
      mode,
    ]);
    const row = result.rows[0];
    if (!row) throw new AppError('not_found', 'No such wallet');
    return toBalance(row);
  }

  /**
   * Operator grant (amount > 0) or adjustment (amount < 0) inside the caller's transaction (M6, M7).
   * A repeated reference answers with the first entry and changes nothing.
   */
  async credit(tx: Queryable, input: CreditInput): Promise<CreditResult> {
    const wallet = await tx.query<WalletRow>('SELECT * FROM wallets WHERE customer_id = $1 AND mode = $2', [
      input.customerId,
      input.mode,
    ]);
    const walletRow = wallet.rows[0];
    if (!walletRow) throw new AppError('not_found', 'No such wallet');
    const refId = input.reference === null ? `audit:${input.auditId}` : `${walletRow.id}:${input.reference}`;
    const kind = input.amount > 0n ? 'grant' : 'adjustment';
    const existing = await this.findOperatorCredit(tx, refId);
    if (existing) return { entry: existing, wallet: walletRow, duplicate: true };
    // The entry goes first: a concurrent twin with the same reference waits on the unique index, then sees ours.
    const inserted = await tx.query<LedgerEntryRow>(
      `INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, reason, audit_id, created_at)
       VALUES ($1, $2, $3, 'operator_credit', $4, $5, $6, $7)
       ON CONFLICT (ref_type, ref_id, kind) DO NOTHING RETURNING *`,
      [walletRow.id, kind, input.amount, refId, input.reason, input.auditId, input.now],
    );
    if (!inserted.rows[0]) {
      const first = await this.findOperatorCredit(tx, refId);
      if (first) return { entry: first, wallet: walletRow, duplicate: true };
      throw new AppError('conflict', 'A credit with this reference is being applied concurrently; retry');
    }
    // Both bounds are guards of the one statement; the CHECK constraints of migration 0007 back the upper one.
    const apply = async () => (await tx.query<WalletRow>(
      `UPDATE wallets SET balance = balance + $2, updated_at = $3
        WHERE id = $1 AND balance + $2 >= reserved AND balance + $2 <= $4 RETURNING *`,
      [walletRow.id, input.amount, input.now, MAX_CREDITS],
    )).rows[0];
    let applied = await apply();
    // Credit leased to instances and not spent is the customer's: an adjustment it stands in the way of takes the
    // wallet's leases back first (gr_lease_reclaim, migration 0024), then applies.
    if (!applied && input.amount < 0n) {
      const reclaimed = await tx.query<{ credit: bigint }>('SELECT gr_lease_reclaim($1, $2) AS credit', [walletRow.id, input.now]);
      if (BigInt(reclaimed.rows[0]?.credit ?? 0) > 0n) applied = await apply();
    }
    if (!applied) {
      const current = await tx.query<WalletRow>('SELECT * FROM wallets WHERE id = $1', [walletRow.id]);
      const balance = current.rows[0]?.balance ?? walletRow.balance;
      if (BigInt(balance) + input.amount > MAX_CREDITS) {
        throw new AppError('invalid_request', `The grant would take the balance past ${MAX_CREDITS} credits, the most a wallet can hold`, { param: 'amount' });
      }
      throw new AppError('balance_below_reserved', 'The adjustment would take the balance below active reservations');
    }
    return { entry: inserted.rows[0], wallet: applied, duplicate: false };
  }

  private async findOperatorCredit(tx: Queryable, refId: string): Promise<LedgerEntryRow | null> {
    const result = await tx.query<LedgerEntryRow>(
      "SELECT * FROM ledger_entries WHERE ref_type = 'operator_credit' AND ref_id = $1 ORDER BY id LIMIT 1",
      [refId],
    );
    return result.rows[0] ?? null;
  }

  async ledger(walletId: string, limit: number, before: bigint | null): Promise<LedgerEntryRow[]> {
    const result = await this.db.query<LedgerEntryRow>(
      // A charge names its reservation; the reservation's task is what a reader wants to open.
      `SELECT l.*, r.task_id FROM ledger_entries l
         LEFT JOIN reservations r ON l.ref_type = 'reservation' AND r.id = l.ref_id
        WHERE l.wallet_id = $1 AND ($2::bigint IS NULL OR l.id < $2)
        ORDER BY l.id DESC LIMIT $3`,
      [walletId, before, limit],
    );
    return result.rows;
  }

  async walletId(customerId: string, mode: Mode): Promise<string> {
    const result = await this.db.query<{ id: string }>('SELECT id FROM wallets WHERE customer_id = $1 AND mode = $2', [
      customerId,
      mode,
    ]);
    if (!result.rows[0]) throw new AppError('not_found', 'No such wallet');
    return result.rows[0].id;
  }

  /**
   * The hot path (SEMANTICS §5.4): claims the idempotency key, takes the concurrency slot, reserves the hold and
   * inserts the task, in one statement shared with the other reservations of its group, whatever their wallet
   * (gr_reserve_group; one queue per instance, db/group-commit.ts); answered once that statement has committed.
   * 402/429 raise and store nothing (I8).
   */
  async reserve(input: ReserveInput): Promise<{ taskId: string; outcome: ReserveOutcome; task: TaskRow }> {
    const { outcome: decided, task } = await this.reserveGroups.submit(input);
    if (decided === 'GR429') throw new AppError('concurrency_limited', 'Too many requests in flight for this API key');
    if (decided === 'GR402' || !task) throw new AppError('insufficient_credits', 'Not enough credits available for this request');
    // The row that owns the idempotency key: ours (created), or an earlier one — a replay when it was made from the
    // same request in the same mode, else a conflict (I5, I6).
    const outcome: ReserveOutcome = task.id === input.taskId
      ? 'created'
      : task.fingerprint === input.fingerprint && task.mode === input.mode ? 'replay' : 'conflict';
    return { taskId: task.id, outcome, task };
  }

  /**
   * A settlement or release committed with the others of its group (gr_resolve_group); `route` is recorded with it.
   * `lane` is for tests that play two instances' queues in one process.
   */
  resolveInGroup(item: ResolveItem, lane?: string): Promise<ResolveResult> {
    return this.resolveGroups.submit(item, lane);
  }

  /**
   * Charges min(actual, hold) (M3) and marks the task succeeded; `cost` is the upstream cost of the task in credits
   * (M11), stored on the task in the same statement (null when the route has no cost for the model).
   */
  settle(
    taskId: string,
    actual: bigint,
    now: Date,
    db: Queryable = this.db,
    result: unknown = null,
    cost: bigint | null = null,
    files: FileItem[] = [],
  ): Promise<ResolveResult> {
    return this.resolve(db, taskId, 'settled', 'succeeded', actual, null, now, null, result, cost, files);
  }

  /** Returns the whole hold (M4); the task ends failed, cancelled or expired with `errorCode`. */
  release(
    taskId: string,
    finalStatus: 'failed' | 'cancelled' | 'expired',
    errorCode: string,
    now: Date,
    onlyIfStatus: string | null = null,
    db: Queryable = this.db,
  ): Promise<ResolveResult> {
    return this.resolve(db, taskId, 'released', finalStatus, 0n, errorCode, now, onlyIfStatus);
  }

  private async resolve(
    db: Queryable,
    taskId: string,
    outcome: 'settled' | 'released',
    finalStatus: string,
    actual: bigint,
    errorCode: string | null,
    now: Date,
    onlyIfStatus: string | null,
    taskResult: unknown = null,
    cost: bigint | null = null,
    files: FileItem[] = [],
  ): Promise<ResolveResult> {
    if (db === this.db) {
      return this.resolveInGroup({ taskId, outcome, finalStatus, actual, errorCode, now, onlyIfStatus, result: taskResult, cost, files });
    }
    const result = await db.query<ResolveResult>('SELECT * FROM gr_resolve_hold($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      taskId,
      outcome,
      finalStatus,
      actual,
      errorCode,
      now,
      onlyIfStatus,
      taskResult === null ? null : JSON.stringify(taskResult),
      cost,
    ]);
    // The result's rows are the caller's transaction's, written only when it settled (as in the group statement).
    if (result.rows[0]!.outcome === 'settled') for (const file of files) await insertFile(db, file);
    return result.rows[0]!;
  }

  /** Pushes a running task's hold expiry forward, never past its hard deadline (§5.4 Extend). */
  async extend(taskId: string, now: Date, extensionMs: number): Promise<Date | null> {
    const result = await this.db.query<{ expires_at: Date }>(
      `UPDATE reservations SET expires_at = LEAST($2::timestamptz + make_interval(secs => $3), hard_deadline)
        WHERE task_id = $1 AND status = 'held' RETURNING expires_at`,
      [taskId, now, extensionMs / 1000],
    );
    return result.rows[0]?.expires_at ?? null;
  }

  async hardDeadline(taskId: string): Promise<Date | null> {
    const result = await this.db.query<{ hard_deadline: Date }>('SELECT hard_deadline FROM reservations WHERE task_id = $1', [taskId]);
    return result.rows[0]?.hard_deadline ?? null;
  }

  /**
   * One sweep batch (T10): expired holds of never-dispatched (`queued`) tasks are released at once as
   * `expired_before_dispatch`; the others need a provider lookup and are returned for the task engine.
   */
  async sweepExpired(now: Date, batchSize = 500): Promise<{ released: string[]; needsProvider: SweepCandidate[] }> {
    return this.db.transaction(async (tx) => {
      const due = await tx.query<SweepCandidate>(
        `SELECT r.task_id, t.status FROM reservations r JOIN tasks t ON t.id = r.task_id
          WHERE r.status = 'held' AND r.expires_at < $1
          ORDER BY r.expires_at LIMIT $2 FOR UPDATE OF t SKIP LOCKED`,
        [now, batchSize],
      );
      const released: string[] = [];
      const needsProvider: SweepCandidate[] = [];
      for (const row of due.rows) {
        if (row.status !== 'queued') {
          needsProvider.push(row);
          continue;
        }
        const outcome = await this.release(row.task_id, 'failed', 'expired_before_dispatch', now, 'queued', tx);
        if (outcome.outcome === 'released') released.push(row.task_id);
      }
      return { released, needsProvider };
    });
  }
}

export interface SweepCandidate {
  task_id: string;
  status: string;
}

export function toBalance(row: WalletRow): Balance {
  return { mode: row.mode, balance: row.balance, reserved: row.reserved, available: row.balance - row.reserved };
}
