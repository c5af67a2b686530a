import type { Db, Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { ExceptionQueue, ExceptionStatus, PaymentExceptionRow, TopupMethod } from './types.js';

/**
 * The operator's payment queues (issue 13): `quarantine` holds Stripe payments that do not fit their order (amount or
 * currency mismatch, unknown order, a reversal the wallet could not cover); `unmatched` holds chain transfers no open
 * order accounts for (late, wrong amount, unknown). Nothing here is ever credited automatically: an operator resolves
 * each one by hand, with an audit entry. One row per payment reference.
 */
export interface NewException {
  queue: ExceptionQueue;
  kind: string;
  method: TopupMethod;
  orderId: string | null;
  customerId: string | null;
  refType: string;
  refId: string;
  amount: bigint | null;
  currency: string | null;
  details: Record<string, unknown>;
  now: Date;
}

export interface ExceptionFilter {
  queue?: ExceptionQueue | undefined;
  status?: ExceptionStatus | undefined;
  before?: string | undefined;
  limit: number;
}

export class PaymentExceptionService {
  constructor(
    private readonly db: Db,
    private readonly ids: IdGenerator,
  ) {}

  /** Files a payment for the operator; a reference already filed is left as it is (answers null). */
  async open(input: NewException, db: Queryable = this.db): Promise<PaymentExceptionRow | null> {
    const result = await db.query<PaymentExceptionRow>(
      `INSERT INTO payment_exceptions (id, queue, kind, method, order_id, customer_id, ref_type, ref_id, amount, currency, details, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)
       ON CONFLICT (ref_type, ref_id) DO NOTHING RETURNING *`,
      [this.ids('pex'), input.queue, input.kind, input.method, input.orderId, input.customerId, input.refType, input.refId,
        input.amount, input.currency, JSON.stringify(input.details), input.now],
    );
    return result.rows[0] ?? null;
  }

  async get(id: string, db: Queryable = this.db, lock = false): Promise<PaymentExceptionRow> {
    const result = await db.query<PaymentExceptionRow>(`SELECT * FROM payment_exceptions WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    if (!result.rows[0]) throw new AppError('not_found', 'No such payment exception');
    return result.rows[0];
  }

  async list(filter: ExceptionFilter): Promise<PaymentExceptionRow[]> {
    const result = await this.db.query<PaymentExceptionRow>(
      `SELECT * FROM payment_exceptions
        WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [filter.queue ?? null, filter.status ?? null, filter.before ?? null, filter.limit],
    );
    return result.rows;
  }

  /** How many are waiting in each queue (the dashboard's alert). */
  async openCounts(): Promise<Record<ExceptionQueue, number>> {
    const result = await this.db.query<{ queue: ExceptionQueue; count: number }>(
      "SELECT queue, COUNT(*)::int AS count FROM payment_exceptions WHERE status = 'open' GROUP BY queue",
    );
    const counts: Record<ExceptionQueue, number> = { quarantine: 0, unmatched: 0 };
    for (const row of result.rows) counts[row.queue] = row.count;
    return counts;
  }

  /** Closes an open one (guarded: a second resolve is a 409). */
  async resolve(tx: Queryable, id: string, status: Exclude<ExceptionStatus, 'open'>, resolution: Record<string, unknown>, by: string, now: Date): Promise<PaymentExceptionRow> {
    const result = await tx.query<PaymentExceptionRow>(
      `UPDATE payment_exceptions SET status = $2, resolution = $3::jsonb, resolved_by = $4, resolved_at = $5
        WHERE id = $1 AND status = 'open' RETURNING *`,
      [id, status, JSON.stringify(resolution), by, now],
    );
    if (!result.rows[0]) throw new AppError('conflict', 'This payment exception is already resolved');
    return result.rows[0];
  }
}
