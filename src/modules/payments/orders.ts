import type { Db, Queryable } from '../../db/pool.js';
import { sqlState } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { CreditOutcome, ReverseOutcome, TopupMethod, TopupOrderRow, TopupStatus, UsdtMethod } from './types.js';

/**
 * Top-up orders (issue 13, SEMANTICS P1/P2/P9). The order row carries the price and the credits fixed at creation;
 * the only way it turns `paid` is gr_credit_topup, which writes the ledger entry in the same transaction behind the
 * payment's unique reference. USDT orders get an exact amount no other open order on the address has (a partial
 * unique index), so a transfer names its order by amount alone.
 */
export interface NewOrder {
  customerId: string;
  method: TopupMethod;
  amount: bigint;
  currency: string;
  credits: bigint;
  bonusCredits: bigint;
  createdBy: string | null;
  idempotencyKey: string | null;
  now: Date;
  expiresAt: Date;
}

export interface UsdtPlacement {
  addresses: readonly string[];
  baseMicro: bigint;
  network: string;
  confirmationsRequired: number;
}

export interface OrderFilter {
  customerId?: string | undefined;
  status?: TopupStatus | undefined;
  method?: TopupMethod | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Keyset cursor: orders created before this order id (ids sort by creation time). */
  before?: string | undefined;
  limit: number;
}

/** The unique amount suffixes (P9): base + k × 0.0001 USDT, k = 0…99. */
const SUFFIX_STEP = 100n;
const SUFFIXES = 100;

const INSERT_COLUMNS = `id, customer_id, method, status, amount, currency, credits, bonus_credits, created_at, expires_at,
  created_by, idempotency_key, pay_address, pay_amount_micro, pay_network, confirmations_required, updated_at`;

export class TopupOrderService {
  constructor(
    private readonly db: Db,
    private readonly ids: IdGenerator,
  ) {}

  /** A card order (no pay-to); the Checkout Session is attached once Stripe has created it. */
  async insert(order: NewOrder, db: Queryable = this.db): Promise<TopupOrderRow> {
    try {
      const result = await db.query<TopupOrderRow>(
        `INSERT INTO topup_orders (${INSERT_COLUMNS})
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL, 0, $8) RETURNING *`,
        [this.ids('top'), order.customerId, order.method, order.amount, order.currency, order.credits, order.bonusCredits,
          order.now, order.expiresAt, order.createdBy, order.idempotencyKey],
      );
      return result.rows[0]!;
    } catch (error) {
      throw this.idempotencyConflict(error);
    }
  }

  /**
   * A USDT order: tries each suffix k on each address until the database accepts an amount no open order on that
   * address holds. All taken → 503 (the operator adds addresses, or orders expire).
   */
  async insertUsdt(order: NewOrder, placement: UsdtPlacement): Promise<TopupOrderRow> {
    for (let k = 0; k < SUFFIXES; k += 1) {
      for (const address of placement.addresses) {
        const micro = placement.baseMicro + BigInt(k) * SUFFIX_STEP;
        let rows: TopupOrderRow[];
        try {
          rows = (await this.db.query<TopupOrderRow>(
            `INSERT INTO topup_orders (${INSERT_COLUMNS})
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $8)
             ON CONFLICT (method, pay_address, pay_amount_micro) WHERE status IN ('pending', 'confirming') AND pay_address IS NOT NULL
             DO NOTHING RETURNING *`,
            [this.ids('top'), order.customerId, order.method, order.amount, order.currency, order.credits, order.bonusCredits,
              order.now, order.expiresAt, order.createdBy, order.idempotencyKey, address, micro, placement.network,
              placement.confirmationsRequired],
          )).rows;
        } catch (error) {
          throw this.idempotencyConflict(error);
        }
        if (rows[0]) return rows[0];
      }
    }
    throw new AppError('provider_capacity_unavailable', 'Every exact amount near this one is taken by open orders; try another amount or later');
  }

  /**
   * The order behind an operator's hand credit of a payment exception: created `failed` (outside the open-amount
   * index) so gr_credit_topup can turn it paid in the caller's transaction.
   */
  async insertManual(tx: Queryable, order: NewOrder, payTo: { address: string; micro: bigint; network: string } | null): Promise<TopupOrderRow> {
    const result = await tx.query<TopupOrderRow>(
      `INSERT INTO topup_orders (${INSERT_COLUMNS})
       VALUES ($1, $2, $3, 'failed', $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12, $13, 0, $8) RETURNING *`,
      [this.ids('top'), order.customerId, order.method, order.amount, order.currency, order.credits, order.bonusCredits,
        order.now, order.expiresAt, order.createdBy, payTo?.address ?? null, payTo?.micro ?? null, payTo?.network ?? null],
    );
    return result.rows[0]!;
  }

  private idempotencyConflict(error: unknown): unknown {
    if (sqlState(error) === '23505' && String((error as Error).message).includes('topup_orders_idempotency')) {
      return new AppError('conflict', 'An order with this Idempotency-Key is being created; retry');
    }
    return error;
  }

  async byIdempotencyKey(customerId: string, key: string): Promise<TopupOrderRow | null> {
    const result = await this.db.query<TopupOrderRow>(
      'SELECT * FROM topup_orders WHERE customer_id = $1 AND idempotency_key = $2',
      [customerId, key],
    );
    return result.rows[0] ?? null;
  }

  /** One order; with a customer id, another customer's order is a 404 (never a 403). */
  async get(id: string, customerId: string | null, db: Queryable = this.db): Promise<TopupOrderRow> {
    const result = await db.query<TopupOrderRow>(
      'SELECT * FROM topup_orders WHERE id = $1 AND ($2::text IS NULL OR customer_id = $2)',
      [id, customerId],
    );
    if (!result.rows[0]) throw new AppError('not_found', 'No such top-up order');
    return result.rows[0];
  }

  async find(id: string, db: Queryable = this.db): Promise<TopupOrderRow | null> {
    return (await db.query<TopupOrderRow>('SELECT * FROM topup_orders WHERE id = $1', [id])).rows[0] ?? null;
  }

  async byStripeSession(sessionId: string, db: Queryable = this.db): Promise<TopupOrderRow | null> {
    return (await db.query<TopupOrderRow>('SELECT * FROM topup_orders WHERE stripe_session_id = $1', [sessionId])).rows[0] ?? null;
  }

  async byPaymentIntent(intent: string, db: Queryable = this.db): Promise<TopupOrderRow | null> {
    return (await db.query<TopupOrderRow>('SELECT * FROM topup_orders WHERE stripe_payment_intent = $1', [intent])).rows[0] ?? null;
  }

  /** Newest first, keyset-paginated; `limit + 1` rows tell whether there is more. */
  async list(filter: OrderFilter, db: Queryable = this.db): Promise<TopupOrderRow[]> {
    const result = await db.query<TopupOrderRow>(
      `SELECT * FROM topup_orders
        WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::text IS NULL OR method = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
          AND ($5::timestamptz IS NULL OR created_at < $5) AND ($6::text IS NULL OR id < $6)
        ORDER BY id DESC LIMIT $7`,
      [filter.customerId ?? null, filter.status ?? null, filter.method ?? null, filter.from ?? null, filter.to ?? null,
        filter.before ?? null, filter.limit],
    );
    return result.rows;
  }

  async attachStripeSession(id: string, sessionId: string, url: string, expiresAt: Date, now: Date): Promise<TopupOrderRow> {
    const result = await this.db.query<TopupOrderRow>(
      `UPDATE topup_orders SET stripe_session_id = $2, checkout_url = $3, expires_at = $4, updated_at = $5
        WHERE id = $1 RETURNING *`,
      [id, sessionId, url, expiresAt, now],
    );
    return result.rows[0]!;
  }

  async setPaymentIntent(id: string, intent: string, now: Date, db: Queryable = this.db): Promise<void> {
    await db.query(
      'UPDATE topup_orders SET stripe_payment_intent = $2, updated_at = $3 WHERE id = $1 AND stripe_payment_intent IS NULL',
      [id, intent, now],
    );
  }

  /** A guarded status change: only from one of `from`; answers the row when it moved. */
  async transition(id: string, from: readonly TopupStatus[], to: TopupStatus, now: Date, reason: string | null = null, db: Queryable = this.db): Promise<TopupOrderRow | null> {
    const result = await db.query<TopupOrderRow>(
      `UPDATE topup_orders SET status = $3, failure_reason = COALESCE($4, failure_reason), updated_at = $5
        WHERE id = $1 AND status = ANY($2::text[]) RETURNING *`,
      [id, from, to, reason, now],
    );
    return result.rows[0] ?? null;
  }

  /**
   * A USDT order's progress towards finality (`confirming n/N`), or back to pending when its transfer vanished.
   * `required` updates N where it moves with the chain (EVM's `finalized` tag: head − finalized + 1).
   */
  async setConfirmations(id: string, status: 'pending' | 'confirming', seen: number, now: Date, db: Queryable = this.db, required: number | null = null): Promise<void> {
    await db.query(
      `UPDATE topup_orders SET status = $2, confirmations_seen = $3, updated_at = $4,
              confirmations_required = COALESCE($5, confirmations_required)
        WHERE id = $1 AND status IN ('pending', 'confirming')`,
      [id, status, seen, now, required],
    );
  }

  /** Orders whose window has passed with nothing seen become `expired` (their exact amount is free again). */
  async expireDue(now: Date): Promise<number> {
    const result = await this.db.query(
      "UPDATE topup_orders SET status = 'expired', updated_at = $1 WHERE status = 'pending' AND expires_at < $1",
      [now],
    );
    return result.rowCount ?? 0;
  }

  /**
   * The open-window order a chain transfer pays: same method, address and exact amount, with the transfer's block
   * time inside the order's window. An expired order whose window holds the block time still matches (the watcher
   * may see a transfer late); a paid one does not.
   */
  async matchTransfer(method: UsdtMethod, address: string, micro: bigint, at: Date, db: Queryable = this.db): Promise<TopupOrderRow | null> {
    const result = await db.query<TopupOrderRow>(
      `SELECT * FROM topup_orders
        WHERE method = $1 AND pay_address = $2 AND pay_amount_micro = $3 AND created_at <= $4 AND expires_at >= $4
          AND status IN ('pending', 'confirming', 'expired')
        ORDER BY created_at DESC LIMIT 1`,
      [method, address, micro, at],
    );
    return result.rows[0] ?? null;
  }

  /** Stripe orders still pending after `olderThan` (the reconciliation job re-reads their sessions). */
  async stalePending(olderThan: Date, limit: number): Promise<TopupOrderRow[]> {
    const result = await this.db.query<TopupOrderRow>(
      `SELECT * FROM topup_orders WHERE method = 'stripe' AND status IN ('pending', 'confirming') AND stripe_session_id IS NOT NULL
          AND updated_at < $1 ORDER BY updated_at LIMIT $2`,
      [olderThan, limit],
    );
    return result.rows;
  }

  /** SEMANTICS P1: the one crediting function (gr_credit_topup), inside the caller's transaction. */
  async credit(tx: Queryable, orderId: string, refType: string, refId: string, now: Date, auditId: bigint | null = null): Promise<CreditOutcome> {
    try {
      const result = await tx.query<CreditOutcome>('SELECT * FROM gr_credit_topup($1, $2, $3, $4, $5)', [orderId, refType, refId, now, auditId]);
      return result.rows[0]!;
    } catch (error) {
      if (sqlState(error) === 'GR010') throw new AppError('invalid_request', 'The top-up would take the wallet past the most it can hold');
      throw error;
    }
  }

  /** P10: takes back `credits` (negative: gives back) for a refund or dispute, once per reference. */
  async reverse(tx: Queryable, orderId: string, refType: string, refId: string, credits: bigint, refundedAmount: bigint, now: Date): Promise<ReverseOutcome> {
    const result = await tx.query<ReverseOutcome>('SELECT * FROM gr_reverse_topup($1, $2, $3, $4, $5, $6)', [
      orderId, refType, refId, credits, refundedAmount, now,
    ]);
    return result.rows[0]!;
  }

  /** Paid top-ups over a period, per currency (the dashboard's revenue). */
  async revenue(from: Date, to: Date): Promise<Array<{ currency: string; amount: string; orders: number; credits: string }>> {
    const result = await this.db.query<{ currency: string; amount: string; orders: number; credits: string }>(
      `SELECT currency, SUM(amount - refunded_amount)::text AS amount, COUNT(*)::int AS orders, SUM(credits - reversed_credits)::text AS credits
         FROM topup_orders WHERE status IN ('paid', 'refunded') AND paid_at >= $1 AND paid_at < $2 GROUP BY currency ORDER BY currency`,
      [from, to],
    );
    return result.rows;
  }
}
