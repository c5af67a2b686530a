import { creditsToJson } from '../lib/money.js';
import { isoOrNull } from '../lib/time.js';
import type { CustomerRow } from '../modules/customers/service.js';
import type { ApiKeyRow } from '../modules/keys/types.js';
import type { Balance, LedgerEntryRow, Mode } from '../modules/wallet/types.js';

/** JSON shapes of core objects. Credits leave as JSON integers (D7); times as RFC 3339 strings. */
export function keyView(row: ApiKeyRow, plaintext?: string) {
  return {
    id: row.id,
    name: row.name,
    key_prefix: row.key_prefix,
    ...(plaintext === undefined ? {} : { key: plaintext }),
    mode: row.mode,
    scopes: row.scopes,
    created_at: isoOrNull(row.created_at),
    expires_at: isoOrNull(row.expires_at),
    last_used_at: isoOrNull(row.last_used_at),
  };
}

export function keyStatus(row: ApiKeyRow, now: Date): 'active' | 'revoked' | 'expired' {
  if (row.revoked_at) return 'revoked';
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** The operator sees every setting of a key, never its secret or hash. */
export function operatorKeyView(row: ApiKeyRow, now: Date, plaintext?: string) {
  return {
    object: 'api_key',
    ...keyView(row, plaintext),
    customer_id: row.customer_id,
    status: keyStatus(row, now),
    allowed_models: row.allowed_models,
    ip_allowlist: row.ip_allowlist,
    rate_limit_rpm: row.rate_limit_rpm,
    max_concurrency: row.max_concurrency,
    inflight: row.inflight,
    revoked_at: isoOrNull(row.revoked_at),
    rotated_from: row.rotated_from,
  };
}

export function balanceView(balance: Balance) {
  return {
    balance: creditsToJson(balance.balance),
    reserved: creditsToJson(balance.reserved),
    available: creditsToJson(balance.available),
  };
}

export function customerView(row: CustomerRow, balances: Record<Mode, Balance> | undefined) {
  return {
    id: row.id,
    object: 'customer',
    name: row.name,
    email: row.email,
    status: row.status,
    group: row.group_name,
    plan: {
      rate_limit_rpm: row.plan.rate_limit_rpm ?? null,
      max_concurrency: row.plan.max_concurrency ?? null,
      allowed_models: row.plan.allowed_models ?? null,
    },
    credits: {
      live: balances?.live ? balanceView(balances.live) : null,
      test: balances?.test ? balanceView(balances.test) : null,
    },
    created_at: isoOrNull(row.created_at),
    updated_at: isoOrNull(row.updated_at),
  };
}

export function ledgerEntryView(row: LedgerEntryRow, mode: Mode) {
  const reference = row.ref_type === 'operator_credit' && !row.ref_id.startsWith('audit:')
    ? row.ref_id.slice(row.ref_id.indexOf(':') + 1)
    : null;
  return {
    id: `le_${row.id}`,
    object: 'ledger_entry',
    mode,
    kind: row.kind,
    amount: creditsToJson(row.amount),
    reason: row.reason,
    reference,
    ref_type: row.ref_type,
    ref_id: row.ref_type === 'operator_credit' ? reference : row.ref_id,
    task_id: row.task_id ?? null,
    created_at: isoOrNull(row.created_at),
  };
}
