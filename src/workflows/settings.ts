import type { Deps } from '../deps.js';
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
    const changed = Object.keys(patch) as Array<keyof Settings>;
    for (const key of changed) await writeSetting(tx, key, after[key], now);
    await recordAudit(tx, audit, {
      action: 'settings.update', targetType: 'settings', targetId: changed.join(','),
      before: Object.fromEntries(changed.map((key) => [key, before[key]])),
      after: Object.fromEntries(changed.map((key) => [key, after[key]])),
    }, now);
    return after;
  });
}
