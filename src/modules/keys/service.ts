import type { Db, Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import type { IdGenerator } from '../../lib/ids.js';
import { issueKey } from './key-format.js';
import type { ApiKeyRow, KeyRecord, NewKeySettings } from './types.js';

/** API keys (SEMANTICS §3): only the sha256 and a display prefix are stored; the plaintext leaves once. */
export class KeyService {
  constructor(
    private readonly db: Db,
    private readonly ids: IdGenerator,
    private readonly prefix: string,
  ) {}

  async create(tx: Queryable, settings: NewKeySettings, now: Date): Promise<{ row: ApiKeyRow; plaintext: string }> {
    const issued = issueKey(this.prefix, settings.mode);
    const result = await tx.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, customer_id, name, mode, key_hash, key_prefix, scopes, allowed_models, ip_allowlist,
                             rate_limit_rpm, max_concurrency, expires_at, rotated_from, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING *`,
      [
        this.ids('key'),
        settings.customerId,
        settings.name,
        settings.mode,
        issued.hash,
        issued.displayPrefix,
        settings.scopes,
        settings.allowedModels,
        settings.ipAllowlist,
        settings.rateLimitRpm,
        settings.maxConcurrency,
        settings.expiresAt,
        settings.rotatedFrom,
        settings.createdBy,
        now,
      ],
    );
    return { row: result.rows[0]!, plaintext: issued.key };
  }

  async findByHash(hash: string): Promise<KeyRecord | null> {
    const result = await this.db.query<ApiKeyRow & { customer_status: string; group_name: string; plan: object }>(
      `SELECT k.*, c.status AS customer_status, c.group_name, c.plan
         FROM api_keys k JOIN customers c ON c.id = k.customer_id WHERE k.key_hash = $1`,
      [hash],
    );
    const row = result.rows[0];
    if (!row) return null;
    const { customer_status, group_name, plan, ...key } = row;
    return {
      key: key as ApiKeyRow,
      customerStatus: customer_status as KeyRecord['customerStatus'],
      customerGroup: group_name,
      plan,
    };
  }

  /** One key of one customer; other customers' and (when `mode` is given) other modes' keys are 404 (K11). */
  async get(customerId: string, keyId: string, db: Queryable = this.db, forUpdate = false): Promise<ApiKeyRow> {
    const result = await db.query<ApiKeyRow>(
      `SELECT * FROM api_keys WHERE id = $1 AND customer_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
      [keyId, customerId],
    );
    if (!result.rows[0]) throw new AppError('not_found', 'No such API key');
    return result.rows[0];
  }

  async list(customerId: string, mode: string | null, limit: number, after: string | null): Promise<ApiKeyRow[]> {
    const result = await this.db.query<ApiKeyRow>(
      `SELECT * FROM api_keys WHERE customer_id = $1 AND ($2::text IS NULL OR mode = $2)
          AND ($3::text IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [customerId, mode, after, limit],
    );
    return result.rows;
  }

  async hashesOfCustomer(customerId: string, db: Queryable = this.db): Promise<string[]> {
    const result = await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE customer_id = $1', [
      customerId,
    ]);
    return result.rows.map((row) => row.key_hash);
  }

  /** Revocation is immediate and final; revoking twice keeps the first time. */
  async revoke(tx: Queryable, keyId: string, now: Date): Promise<ApiKeyRow> {
    const result = await tx.query<ApiKeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2), updated_at = $2 WHERE id = $1 RETURNING *`,
      [keyId, now],
    );
    return result.rows[0]!;
  }

  /** Sets an earlier expiry (rotation grace, K14); never extends an existing one. */
  async expireBy(tx: Queryable, keyId: string, expiresAt: Date, now: Date): Promise<ApiKeyRow> {
    const result = await tx.query<ApiKeyRow>(
      `UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, $2), $2), updated_at = $3 WHERE id = $1 RETURNING *`,
      [keyId, expiresAt, now],
    );
    return result.rows[0]!;
  }

  /** Batched `last_used_at` flush (K8): one statement for many keys. */
  async touch(entries: Array<{ id: string; at: Date }>): Promise<void> {
    if (entries.length === 0) return;
    await this.db.query(
      `UPDATE api_keys k SET last_used_at = GREATEST(COALESCE(k.last_used_at, u.at), u.at)
         FROM (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS x(id, at)) u WHERE k.id = u.id`,
      [entries.map((entry) => entry.id), entries.map((entry) => entry.at)],
    );
  }
}
