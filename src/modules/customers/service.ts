import type { Db, Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';

/** Customers (tenants): status, routing group and the plan whose limits their keys inherit (K12). */
export type CustomerStatus = 'active' | 'suspended';

export interface Plan {
  rate_limit_rpm?: number | null;
  max_concurrency?: number | null;
  allowed_models?: string[] | null;
}

export interface CustomerRow {
  id: string;
  name: string;
  email: string | null;
  status: CustomerStatus;
  group_name: string;
  plan: Plan;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface NewCustomer {
  id: string;
  name: string;
  email: string | null;
  status: CustomerStatus;
  group: string;
  plan: Plan;
  now: Date;
}

export interface CustomerChanges {
  name?: string;
  email?: string | null;
  status?: CustomerStatus;
  group?: string;
  plan?: Plan;
}

export class CustomerService {
  constructor(private readonly db: Db) {}

  async insert(tx: Queryable, customer: NewCustomer): Promise<CustomerRow> {
    try {
      const result = await tx.query<CustomerRow>(
        `INSERT INTO customers (id, name, email, status, group_name, plan, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *`,
        [customer.id, customer.name, customer.email, customer.status, customer.group, JSON.stringify(customer.plan),
          customer.now],
      );
      return result.rows[0]!;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new AppError('conflict', 'A customer with this email already exists', { param: 'email' });
      }
      throw error;
    }
  }

  async get(id: string, db: Queryable = this.db, forUpdate = false): Promise<CustomerRow> {
    const result = await db.query<CustomerRow>(
      `SELECT * FROM customers WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    if (!result.rows[0]) throw new AppError('not_found', 'No such customer');
    return result.rows[0];
  }

  /**
   * Newest first by id. `search` matches the exact id, or a substring of the name or email, case-insensitively; the
   * LIKE wildcards and the escape character in it are matched literally. The scan walks the primary key in order and
   * stops at `limit` rows, so no index is needed for a page.
   */
  async list(limit: number, after: string | null, status: CustomerStatus | null, search: string | null = null): Promise<CustomerRow[]> {
    const pattern = search === null ? null : `%${search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const result = await this.db.query<CustomerRow>(
      `SELECT * FROM customers WHERE ($1::text IS NULL OR id < $1) AND ($2::text IS NULL OR status = $2)
          AND ($4::text IS NULL OR id = $4 OR name ILIKE $5 ESCAPE '\\' OR email ILIKE $5 ESCAPE '\\')
        ORDER BY id DESC LIMIT $3`,
      [after, status, limit, search, pattern],
    );
    return result.rows;
  }

  async update(tx: Queryable, id: string, changes: CustomerChanges, now: Date): Promise<CustomerRow> {
    const current = await this.get(id, tx, true);
    const plan = changes.plan === undefined ? current.plan : mergePlan(current.plan, changes.plan);
    try {
      const result = await tx.query<CustomerRow>(
        `UPDATE customers SET name = $2, email = $3, status = $4, group_name = $5, plan = $6, updated_at = $7
          WHERE id = $1 RETURNING *`,
        [
          id,
          changes.name ?? current.name,
          changes.email === undefined ? current.email : changes.email,
          changes.status ?? current.status,
          changes.group ?? current.group_name,
          JSON.stringify(plan),
          now,
        ],
      );
      return result.rows[0]!;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new AppError('conflict', 'A customer with this email already exists', { param: 'email' });
      }
      throw error;
    }
  }

  /**
   * Records a reversal as a hold on the customer's automatic suspension (migration 0019, SEMANTICS P10): the
   * reversals whose shortfall keeps the customer suspended. Callers of the hold methods lock the customer row first
   * (`get(…, true)`), so one customer's holds change one transaction at a time.
   */
  async holdSuspension(tx: Queryable, customerId: string, refType: string, refId: string, now: Date): Promise<void> {
    await tx.query(
      `INSERT INTO customer_suspension_holds (customer_id, ref_type, ref_id, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [customerId, refType, refId, now],
    );
  }

  /** Whether the customer's suspension is automatic: held by at least one reversal. */
  async suspensionHeld(tx: Queryable, customerId: string): Promise<boolean> {
    const result = await tx.query('SELECT 1 FROM customer_suspension_holds WHERE customer_id = $1 LIMIT 1', [customerId]);
    return result.rows.length > 0;
  }

  /** Releases one reversal's hold; answers whether it held the suspension. */
  async releaseSuspensionHold(tx: Queryable, customerId: string, refType: string, refId: string): Promise<boolean> {
    const result = await tx.query(
      'DELETE FROM customer_suspension_holds WHERE customer_id = $1 AND ref_type = $2 AND ref_id = $3 RETURNING ref_id',
      [customerId, refType, refId],
    );
    return result.rows.length > 0;
  }

  /** An operator changed the status: whatever it is now is theirs, never lifted automatically. */
  async clearSuspensionHolds(tx: Queryable, customerId: string): Promise<void> {
    await tx.query('DELETE FROM customer_suspension_holds WHERE customer_id = $1', [customerId]);
  }
}

/** A plan patch replaces the fields it names; `null` clears a field back to unlimited. */
function mergePlan(current: Plan, patch: Plan): Plan {
  const merged: Plan = { ...current };
  for (const field of ['rate_limit_rpm', 'max_concurrency', 'allowed_models'] as const) {
    if (patch[field] !== undefined) (merged as Record<string, unknown>)[field] = patch[field];
  }
  return merged;
}
