import type { Db, Queryable } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { sha256Hex } from '../../lib/hash.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { SecretBox } from '../../lib/secret-box.js';
import type { ErrorClass } from '../../providers/spec.js';
import type { PriceRule } from '../catalog/types.js';

/**
 * Channels and the upstream credential pool (API.md §8). Routing reads a snapshot refreshed every second or two;
 * health changes (cooldowns, disables, circuit state) are single guarded UPDATEs so every instance agrees.
 * Operator changes take an optional `db` (a transaction: workflows/channels.ts writes the audit row in it); a caller
 * that passes one calls `invalidate()` again after its commit, so no routing snapshot read in between outlives it.
 */
/** Opened credentials kept (far more than any pool holds; past it the memo starts again). */
const MAX_OPENED = 10_000;

export interface ChannelRow {
  id: string;
  name: string;
  provider: string;
  base_url: string;
  models: Record<string, string>;
  group_name: string;
  priority: number;
  weight: number;
  enabled: boolean;
  retry: { attempts?: number; failover_on?: ErrorClass[] };
  settings: Record<string, unknown>;
  /** Upstream cost per public model (M11), the catalogue's price rule shapes in credits. */
  costs: Record<string, PriceRule>;
  consecutive_failures: number;
  open_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface CredentialRow {
  id: string;
  channel_id: string;
  label: string | null;
  credential_encrypted: string;
  status: 'active' | 'disabled';
  cooldown_until: Date | null;
  disabled_reason: string | null;
  remaining_balance: string | null;
  /** When the upstream last reported `remaining_balance` (migration 0011). */
  balance_checked_at: Date | null;
  /** sha256 of the secret, for deduplicating imports (migration 0011); null once deleted, or until backfilled. */
  credential_sha256: string | null;
  last_used_at: Date | null;
  uses: bigint;
  created_at: Date;
  updated_at: Date;
}

export interface ChannelInput {
  name: string;
  provider: string;
  base_url: string;
  models: Record<string, string>;
  group?: string;
  priority?: number;
  weight?: number;
  enabled?: boolean;
  retry?: ChannelRow['retry'];
  settings?: Record<string, unknown>;
  costs?: Record<string, PriceRule>;
}

/** An operator's change to a credential: enable/disable, relabel, rotate the secret. */
export interface CredentialPatch {
  status?: 'active' | 'disabled';
  label?: string | null;
  credential?: string;
}

/** Consecutive failures that open a channel's circuit, and how long it stays out before a probe. */
export const CIRCUIT_THRESHOLD = 5;
export const CIRCUIT_OPEN_MS = 60_000;
const SNAPSHOT_MS = 1_000;

export class ChannelService {
  private snapshot: { channels: ChannelRow[]; credentials: CredentialRow[]; at: number } | null = null;
  /** The snapshot being read: concurrent requests that find the snapshot stale share one read. */
  private loading: Promise<{ channels: ChannelRow[]; credentials: CredentialRow[] }> | null = null;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
  ) {}

  async routingSnapshot(): Promise<{ channels: ChannelRow[]; credentials: CredentialRow[] }> {
    const now = this.clock.now().getTime();
    if (this.snapshot && now - this.snapshot.at <= SNAPSHOT_MS) return this.snapshot;
    if (this.loading) return this.loading;
    const read = async () => {
      const channels = (await this.db.query<ChannelRow>('SELECT * FROM channels ORDER BY priority DESC, id')).rows;
      const credentials = (await this.db.query<CredentialRow>('SELECT * FROM upstream_credentials ORDER BY id')).rows;
      // A change invalidated the snapshot while it was read: this read may predate the change, so it is not kept.
      if (this.loading === loading) this.snapshot = { channels, credentials, at: now };
      return { channels, credentials };
    };
    const loading: Promise<{ channels: ChannelRow[]; credentials: CredentialRow[] }> = read();
    this.loading = loading;
    try {
      return await loading;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
  }

  invalidate(): void {
    this.snapshot = null;
    this.loading = null;
  }

  async createChannel(input: ChannelInput, db: Queryable = this.db): Promise<ChannelRow> {
    const now = this.clock.now();
    const result = await db.query<ChannelRow>(
      `INSERT INTO channels (id, name, provider, base_url, models, group_name, priority, weight, enabled, retry, settings, created_at, updated_at, costs)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING *`,
      [this.ids('ch'), input.name, input.provider, input.base_url.replace(/\/$/, ''), JSON.stringify(input.models), input.group ?? 'default',
        input.priority ?? 0, input.weight ?? 1, input.enabled ?? true, JSON.stringify(input.retry ?? {}), JSON.stringify(input.settings ?? {}), now,
        JSON.stringify(input.costs ?? {})],
    );
    this.invalidate();
    return result.rows[0]!;
  }

  async updateChannel(id: string, patch: Partial<ChannelInput>, db: Queryable = this.db): Promise<ChannelRow> {
    const current = await this.channel(id, db);
    const next = { ...current, ...patch };
    const result = await db.query<ChannelRow>(
      `UPDATE channels SET name = $2, provider = $3, base_url = $4, models = $5, group_name = $6, priority = $7, weight = $8,
              enabled = $9, retry = $10, settings = $11, updated_at = $12, costs = $13,
              consecutive_failures = CASE WHEN $9 AND NOT enabled THEN 0 ELSE consecutive_failures END,
              open_until = CASE WHEN $9 AND NOT enabled THEN NULL ELSE open_until END
        WHERE id = $1 RETURNING *`,
      [id, next.name, next.provider, next.base_url.replace(/\/$/, ''), JSON.stringify(next.models), patch.group ?? current.group_name,
        next.priority, next.weight, next.enabled, JSON.stringify(next.retry ?? {}), JSON.stringify(next.settings ?? {}), this.clock.now(),
        JSON.stringify(next.costs ?? {})],
    );
    this.invalidate();
    return result.rows[0]!;
  }

  async channel(id: string, db: Queryable = this.db): Promise<ChannelRow> {
    const result = await db.query<ChannelRow>('SELECT * FROM channels WHERE id = $1', [id]);
    if (!result.rows[0]) throw new AppError('not_found', 'No such channel');
    return result.rows[0];
  }

  async listChannels(): Promise<ChannelRow[]> {
    return (await this.db.query<ChannelRow>('SELECT * FROM channels ORDER BY priority DESC, id')).rows;
  }

  async addCredential(channelId: string, credential: string, label: string | null, db: Queryable = this.db): Promise<CredentialRow> {
    await this.channel(channelId, db);
    const now = this.clock.now();
    const result = await db.query<CredentialRow>(
      `INSERT INTO upstream_credentials (id, channel_id, label, credential_encrypted, credential_sha256, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $6, $5, $5) RETURNING *`,
      [this.ids('acc'), channelId, label, this.box.seal(credential), now, sha256Hex(credential)],
    );
    this.invalidate();
    return result.rows[0]!;
  }

  async credential(id: string, db: Queryable = this.db, forUpdate = false): Promise<CredentialRow> {
    const result = await db.query<CredentialRow>(`SELECT * FROM upstream_credentials WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    if (!result.rows[0]) throw new AppError('not_found', 'No such account');
    return result.rows[0];
  }

  async listCredentials(channelId: string | null): Promise<CredentialRow[]> {
    return (await this.db.query<CredentialRow>('SELECT * FROM upstream_credentials WHERE ($1::text IS NULL OR channel_id = $1) ORDER BY id', [channelId])).rows;
  }

  /**
   * Operator changes: enable/disable, relabel, rotate the secret (re-enabling clears cooldown and reason). The row is
   * locked first, so a concurrent delete cannot be undone by writing back the secret read here. An account whose
   * secret was deleted cannot be enabled without a new one (409 `conflict`, `param: status`).
   */
  async updateCredential(id: string, patch: CredentialPatch, db: Queryable = this.db): Promise<CredentialRow> {
    const current = await this.credential(id, db, true);
    if (patch.status === 'active' && !patch.credential && current.credential_encrypted === '') {
      throw new AppError('conflict', 'This account\'s credential was deleted; send a new credential in the same request to enable it', { param: 'status' });
    }
    const result = await db.query<CredentialRow>(
      `UPDATE upstream_credentials SET status = $2, label = $3, credential_encrypted = $4, updated_at = $5,
              credential_sha256 = COALESCE($6, credential_sha256),
              disabled_reason = CASE WHEN $2 = 'active' THEN NULL ELSE COALESCE(disabled_reason, 'disabled by operator') END,
              cooldown_until = CASE WHEN $2 = 'active' THEN NULL ELSE cooldown_until END
        WHERE id = $1 RETURNING *`,
      [id, patch.status ?? current.status, patch.label === undefined ? current.label : patch.label,
        patch.credential ? this.box.seal(patch.credential) : current.credential_encrypted, this.clock.now(),
        patch.credential ? sha256Hex(patch.credential) : null],
    );
    this.invalidate();
    return result.rows[0]!;
  }

  async deleteCredential(id: string, db: Queryable = this.db): Promise<void> {
    await this.credential(id, db);
    await db.query(`UPDATE upstream_credentials SET status = 'disabled', disabled_reason = 'deleted by operator', credential_encrypted = '', credential_sha256 = NULL, updated_at = $2 WHERE id = $1`, [id, this.clock.now()]);
    this.invalidate();
  }

  /**
   * The fingerprints of a channel's live credentials (→ account id), under a lock on the channel row so concurrent imports into it
   * queue. Rows from before migration 0011 are fingerprinted here (their secrets are opened once).
   */
  async lockFingerprints(channelId: string, db: Queryable): Promise<Map<string, string>> {
    const locked = await db.query('SELECT id FROM channels WHERE id = $1 FOR UPDATE', [channelId]);
    if (locked.rows.length === 0) throw new AppError('not_found', 'No such channel');
    const rows = (await db.query<CredentialRow>(`SELECT * FROM upstream_credentials WHERE channel_id = $1 AND credential_encrypted <> ''`, [channelId])).rows;
    const fingerprints = new Map<string, string>();
    for (const row of rows) {
      let fingerprint = row.credential_sha256;
      if (fingerprint === null) {
        fingerprint = sha256Hex(this.box.open(row.credential_encrypted));
        await db.query('UPDATE upstream_credentials SET credential_sha256 = $2 WHERE id = $1', [row.id, fingerprint]);
      }
      fingerprints.set(fingerprint, row.id);
    }
    return fingerprints;
  }

  /**
   * The credential in clear, for the request about to use it. Opened once per sealed value (a changed credential is a
   * new sealed value), not on every request: AES-GCM opening was a visible share of the hot path's CPU (issue 14).
   */
  secretOf(credential: CredentialRow): string {
    const sealed = credential.credential_encrypted;
    let secret = this.opened.get(sealed);
    if (secret === undefined) {
      if (this.opened.size >= MAX_OPENED) this.opened.clear();
      secret = this.box.open(sealed);
      this.opened.set(sealed, secret);
    }
    return secret;
  }

  private readonly opened = new Map<string, string>();

  /** Use counts are batched: at most one write per credential per second, so the hot path stays one statement lighter. */
  private readonly pendingUses = new Map<string, number>();
  private readonly lastUseWrite = new Map<string, number>();

  async markUsed(credentialId: string): Promise<void> {
    this.pendingUses.set(credentialId, (this.pendingUses.get(credentialId) ?? 0) + 1);
    const now = this.clock.now().getTime();
    if (now - (this.lastUseWrite.get(credentialId) ?? 0) < 1000) return;
    this.lastUseWrite.set(credentialId, now);
    const uses = this.pendingUses.get(credentialId) ?? 0;
    this.pendingUses.delete(credentialId);
    await this.db.query('UPDATE upstream_credentials SET last_used_at = $2, uses = uses + $3 WHERE id = $1', [credentialId, this.clock.now(), uses]);
  }

  /**
   * The upstream-reported remaining balance (null: no figure) and when it was read. Routing skips an account whose
   * known balance is ≤ 0 (router.ts); the next reading above 0 brings it back.
   */
  async recordBalance(credentialId: string, amount: number | null, at: Date): Promise<void> {
    await this.db.query('UPDATE upstream_credentials SET remaining_balance = $2, balance_checked_at = $3 WHERE id = $1', [
      credentialId, amount === null ? null : String(amount), at,
    ]);
    this.invalidate();
  }

  /** Active accounts of these channels not read since `before` (never-read first): the sweeper's balance round. */
  async balanceDue(channelIds: string[], before: Date, limit: number): Promise<CredentialRow[]> {
    if (channelIds.length === 0) return [];
    return (await this.db.query<CredentialRow>(
      `SELECT * FROM upstream_credentials WHERE channel_id = ANY($1::text[]) AND status = 'active' AND credential_encrypted <> ''
          AND (balance_checked_at IS NULL OR balance_checked_at < $2)
        ORDER BY balance_checked_at NULLS FIRST, id LIMIT $3`,
      [channelIds, before, limit],
    )).rows;
  }

  /** 429: the credential rests until the upstream's retry-after (default 30 s). */
  async coolDown(credentialId: string, seconds: number): Promise<void> {
    await this.db.query('UPDATE upstream_credentials SET cooldown_until = $2, updated_at = $3 WHERE id = $1', [
      credentialId, new Date(this.clock.now().getTime() + seconds * 1000), this.clock.now(),
    ]);
    this.invalidate();
  }

  /** Auth failure or exhausted quota: out of the pool until an operator re-enables it. */
  async disable(credentialId: string, reason: string): Promise<void> {
    await this.db.query(`UPDATE upstream_credentials SET status = 'disabled', disabled_reason = $2, updated_at = $3 WHERE id = $1`, [credentialId, reason, this.clock.now()]);
    this.invalidate();
  }

  /** Channel health: failures count up and open the circuit at the threshold; a success closes it. */
  async recordOutcome(channelId: string, success: boolean): Promise<void> {
    const now = this.clock.now();
    if (success) {
      // Most successes change nothing: only a channel that had failures is written, and only then re-read.
      const snapshot = this.snapshot?.channels.find((channel) => channel.id === channelId);
      if (snapshot && snapshot.consecutive_failures === 0 && snapshot.open_until === null) return;
      const result = await this.db.query('UPDATE channels SET consecutive_failures = 0, open_until = NULL WHERE id = $1 AND (consecutive_failures <> 0 OR open_until IS NOT NULL)', [channelId]);
      if (result.rowCount === 0) return;
    } else {
      await this.db.query(
        `UPDATE channels SET consecutive_failures = consecutive_failures + 1,
                open_until = CASE WHEN consecutive_failures + 1 >= $2 THEN $3::timestamptz ELSE open_until END
          WHERE id = $1`,
        [channelId, CIRCUIT_THRESHOLD, new Date(now.getTime() + CIRCUIT_OPEN_MS)],
      );
    }
    this.invalidate();
  }
}
