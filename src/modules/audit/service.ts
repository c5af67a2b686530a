import type { Db, Queryable } from '../../db/pool.js';

/** Append-only audit log (K13, API.md §8): written in the same transaction as the change it records. */
export interface AuditContext {
  actor: string;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEvent {
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
}

export interface AuditRow {
  id: bigint;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  ip: string | null;
  user_agent: string | null;
  before: unknown;
  after: unknown;
  created_at: Date;
}

export async function recordAudit(tx: Queryable, context: AuditContext, event: AuditEvent, now: Date): Promise<bigint> {
  const result = await tx.query<{ id: bigint }>(
    `INSERT INTO audit_events (actor, action, target_type, target_id, ip, user_agent, before, after, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      context.actor,
      event.action,
      event.targetType,
      event.targetId,
      context.ip,
      context.userAgent,
      event.before === undefined ? null : JSON.stringify(event.before),
      event.after === undefined ? null : JSON.stringify(event.after),
      now,
    ],
  );
  return result.rows[0]!.id;
}

export interface AuditFilter {
  targetType?: string;
  targetId?: string;
  action?: string;
  /** Exact actor (`operator`, `api_key:<id>`, an admin's email). */
  actor?: string;
  /** Events recorded at or after `from` and before `to`. */
  from?: Date;
  to?: Date;
  limit: number;
  /** Cursor: list entries older than this id. */
  before?: bigint;
}

export async function listAudit(db: Queryable, filter: AuditFilter): Promise<AuditRow[]> {
  const result = await db.query<AuditRow>(
    `SELECT * FROM audit_events
      WHERE ($1::text IS NULL OR target_type = $1) AND ($2::text IS NULL OR target_id = $2)
        AND ($3::text IS NULL OR action = $3) AND ($4::bigint IS NULL OR id < $4)
        AND ($6::text IS NULL OR actor = $6)
        AND ($7::timestamptz IS NULL OR created_at >= $7) AND ($8::timestamptz IS NULL OR created_at < $8)
      ORDER BY id DESC LIMIT $5`,
    [filter.targetType ?? null, filter.targetId ?? null, filter.action ?? null, filter.before ?? null, filter.limit,
      filter.actor ?? null, filter.from ?? null, filter.to ?? null],
  );
  return result.rows;
}

/** The audit log's reads, for the operator API (writes go through `recordAudit`, inside the change's transaction). */
export class AuditLog {
  constructor(private readonly db: Db) {}

  list(filter: AuditFilter): Promise<AuditRow[]> {
    return listAudit(this.db, filter);
  }
}
