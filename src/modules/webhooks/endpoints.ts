import type { Db } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { SecretBox } from '../../lib/secret-box.js';
import { ROTATION_GRACE_MS } from './service.js';
import { generateWebhookSecret } from './signing.js';

/**
 * Registered webhook endpoints (API.md §9): receive events for all of a customer's tasks in one mode. Each has its
 * own secret (H3), shown at creation and rotation only; a rotation keeps the old one signing for 24 h (H4).
 */
export const EVENT_TYPES = ['task.succeeded', 'task.failed', 'task.cancelled', 'task.expired', 'wallet.credited'] as const;

export interface EndpointRow {
  id: string;
  customer_id: string;
  mode: string;
  url: string;
  description: string | null;
  events: string[];
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  secret_encrypted: string;
  previous_encrypted: string | null;
  previous_valid_until: Date | null;
  idempotency_key: string | null;
  fingerprint: string | null;
  last_success_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export class EndpointService {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
  ) {}

  /** Creates an endpoint, or answers the one an earlier request with the same Idempotency-Key created (I5, I6). */
  async create(input: { customerId: string; mode: string; url: string; events: string[]; description: string | null; idempotencyKey: string | null; fingerprint: string | null }): Promise<{ row: EndpointRow; secret: string | null; replay: boolean }> {
    const secret = generateWebhookSecret();
    const now = this.clock.now();
    const inserted = await this.db.query<EndpointRow>(
      `INSERT INTO webhook_endpoints (id, customer_id, mode, url, description, events, secret_encrypted, idempotency_key, fingerprint, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING *`,
      [this.ids('we'), input.customerId, input.mode, input.url, input.description, input.events, this.box.seal(secret), input.idempotencyKey, input.fingerprint, now],
    );
    if (inserted.rows[0]) return { row: inserted.rows[0], secret, replay: false };
    const existing = (await this.db.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE customer_id = $1 AND idempotency_key = $2', [input.customerId, input.idempotencyKey])).rows[0]!;
    if (existing.fingerprint !== input.fingerprint || existing.mode !== input.mode) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request', { param: 'Idempotency-Key' });
    }
    return { row: existing, secret: null, replay: true };
  }

  async get(id: string, customerId: string, mode: string): Promise<EndpointRow> {
    const result = await this.db.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = $1 AND customer_id = $2 AND mode = $3 AND status <> $4', [id, customerId, mode, 'deleted']);
    if (!result.rows[0]) throw new AppError('not_found', 'No such webhook endpoint');
    return result.rows[0];
  }

  async list(customerId: string, mode: string): Promise<EndpointRow[]> {
    return (await this.db.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE customer_id = $1 AND mode = $2 AND status <> \'deleted\' ORDER BY id DESC LIMIT 100', [customerId, mode])).rows;
  }

  /** Deleting cancels the endpoint's pending deliveries; the row stays (status `deleted`) for the delivery history. */
  async delete(id: string, customerId: string, mode: string): Promise<void> {
    await this.get(id, customerId, mode);
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE webhook_endpoints SET status = 'deleted', updated_at = $2 WHERE id = $1`, [id, now]);
      await tx.query(`UPDATE webhook_deliveries SET status = 'cancelled', completed_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`, [id, now]);
    });
  }

  async rotateSecret(id: string, customerId: string, mode: string): Promise<string> {
    await this.get(id, customerId, mode);
    const secret = generateWebhookSecret();
    const now = this.clock.now();
    await this.db.query(
      `UPDATE webhook_endpoints SET previous_encrypted = secret_encrypted, previous_valid_until = $2, secret_encrypted = $3, updated_at = $4 WHERE id = $1`,
      [id, new Date(now.getTime() + ROTATION_GRACE_MS), this.box.seal(secret), now],
    );
    return secret;
  }

  /** Secrets that sign an endpoint's deliveries now (H3, H4). */
  async signingSecrets(id: string): Promise<string[]> {
    const row = (await this.db.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE id = $1', [id])).rows[0];
    if (!row) return [];
    const secrets = [this.box.open(row.secret_encrypted)];
    if (row.previous_encrypted && row.previous_valid_until && row.previous_valid_until.getTime() > this.clock.now().getTime()) {
      secrets.push(this.box.open(row.previous_encrypted));
    }
    return secrets;
  }
}
