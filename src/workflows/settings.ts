import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { readSettings, writeSetting, type Settings } from '../modules/settings/service.js';

/**
 * Operator settings (API.md §8 "Settings"): read, and changed with the audit row in the same transaction (K13).
 * The change locks the rows it replaces, so two concurrent changes each record the value they replaced.
 */
export type SettingsDeps = Pick<Deps, 'db' | 'clock'>;

export async function getSettings(deps: SettingsDeps): Promise<Settings> {
  return readSettings(deps.db);
}

export async function updateSettings(deps: SettingsDeps, patch: Partial<Settings>, audit: AuditContext): Promise<Settings> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const before = await readSettings(tx, true);
    const after: Settings = { ...before, ...patch };
    if (after.topup_min_amount > after.topup_max_amount) {
      throw new AppError('invalid_request', 'topup_min_amount must not be above topup_max_amount', {
        param: patch.topup_min_amount !== undefined ? 'topup_min_amount' : 'topup_max_amount',
      });
    }
    const minimums = after.topup_bonus_tiers.map((tier) => tier.min_amount);
    if (new Set(minimums).size !== minimums.length) {
      throw new AppError('invalid_request', 'Two bonus tiers have the same min_amount', { param: 'topup_bonus_tiers' });
    }
    const changed = Object.keys(patch) as Array<keyof Settings>;
    for (const key of changed) await writeSetting(tx, key, after[key] as never, now);
    await recordAudit(tx, audit, {
      action: 'settings.update', targetType: 'settings', targetId: changed.join(','),
      before: Object.fromEntries(changed.map((key) => [key, before[key]])),
      after: Object.fromEntries(changed.map((key) => [key, after[key]])),
    }, now);
    return after;
  });
}
