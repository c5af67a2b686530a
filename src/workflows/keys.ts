import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import type { ApiKeyRow, NewKeySettings } from '../modules/keys/types.js';

/** The services of the key lifecycle workflows. */
export type KeysDeps = Pick<Deps, 'db' | 'clock' | 'customers' | 'keys' | 'keyCache' | 'invalidation' | 'logger'>;

/** Key lifecycle (SEMANTICS K2, K13, K14): every change is audited in its transaction and evicts the cache. */
const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600;

function auditView(row: ApiKeyRow): Record<string, unknown> {
  const { key_hash: _hash, inflight: _inflight, ...rest } = row;
  return rest;
}

export async function createKey(
  deps: KeysDeps,
  settings: NewKeySettings,
  audit: AuditContext,
): Promise<{ row: ApiKeyRow; plaintext: string }> {
  const now = deps.clock.now();
  if (settings.expiresAt && settings.expiresAt.getTime() <= now.getTime()) {
    throw new AppError('invalid_request', 'expires_at must be in the future', { param: 'expires_at' });
  }
  return deps.db.transaction(async (tx) => {
    await deps.customers.get(settings.customerId, tx);
    const created = await deps.keys.create(tx, settings, now);
    await recordAudit(tx, audit, { action: 'api_key.create', targetType: 'api_key', targetId: created.row.id, after: auditView(created.row) }, now);
    return created;
  });
}

/** Revocation is immediate and final (K13); `mode` limits which keys the caller may see (K11). */
export async function revokeKey(
  deps: KeysDeps,
  customerId: string,
  keyId: string,
  audit: AuditContext,
  mode: string | null = null,
): Promise<ApiKeyRow> {
  const now = deps.clock.now();
  const revoked = await deps.db.transaction(async (tx) => {
    const before = await deps.keys.get(customerId, keyId, tx, true);
    if (mode !== null && before.mode !== mode) throw new AppError('not_found', 'No such API key');
    if (before.revoked_at) return before;
    const after = await deps.keys.revoke(tx, keyId, now);
    await recordAudit(tx, audit, { action: 'api_key.revoke', targetType: 'api_key', targetId: keyId, before: auditView(before), after: auditView(after) }, now);
    return after;
  });
  await evict(deps, revoked.key_hash);
  return revoked;
}

/** Rotation (K14): a new key with the old one's settings; the old key expires after the grace period. */
export async function rotateKey(
  deps: KeysDeps,
  customerId: string,
  keyId: string,
  graceSeconds: number,
  audit: AuditContext,
  mode: string | null = null,
): Promise<{ row: ApiKeyRow; plaintext: string }> {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_SECONDS) {
    throw new AppError('invalid_request', `grace_seconds must be an integer from 0 to ${MAX_ROTATION_GRACE_SECONDS}`, {
      param: 'grace_seconds',
    });
  }
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const old = await deps.keys.get(customerId, keyId, tx, true);
    if (mode !== null && old.mode !== mode) throw new AppError('not_found', 'No such API key');
    if (old.revoked_at) throw new AppError('conflict', 'A revoked API key cannot be rotated');
    if (old.expires_at && old.expires_at.getTime() <= now.getTime()) {
      throw new AppError('conflict', 'An expired API key cannot be rotated');
    }
    const created = await deps.keys.create(
      tx,
      {
        customerId,
        name: old.name,
        mode: old.mode,
        scopes: old.scopes,
        allowedModels: old.allowed_models,
        ipAllowlist: old.ip_allowlist,
        rateLimitRpm: old.rate_limit_rpm,
        maxConcurrency: old.max_concurrency,
        expiresAt: old.expires_at,
        createdBy: audit.actor,
        rotatedFrom: old.id,
      },
      now,
    );
    const expired = await deps.keys.expireBy(tx, old.id, new Date(now.getTime() + graceSeconds * 1000), now);
    await recordAudit(tx, audit, { action: 'api_key.rotate', targetType: 'api_key', targetId: old.id, before: auditView(old), after: auditView(expired) }, now);
    await recordAudit(tx, audit, { action: 'api_key.create', targetType: 'api_key', targetId: created.row.id, after: auditView(created.row) }, now);
    return { created, oldHash: old.key_hash };
  });
  await evict(deps, result.oldHash);
  return result.created;
}

async function evict(deps: KeysDeps, hash: string): Promise<void> {
  deps.keyCache.evictHash(hash);
  await deps.invalidation.publish({ kind: 'key', hash }).catch((error) => {
    deps.logger.warn({ err: error }, 'key invalidation publish failed; other processes catch up within the cache TTL');
  });
}
