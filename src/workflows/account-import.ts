import { AppError } from '../lib/errors.js';
import { sha256Hex } from '../lib/hash.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import type { ChannelsDeps } from './channels.js';

/**
 * Bulk import into a channel's credential pool (API.md §8 `POST /api/accounts/import`): up to 1,000 lines, each a
 * secret or `{credential, label}`, answered one result per line in order: `created` (with the new account id),
 * `duplicate` (the channel already holds that secret, or an earlier line of the same import does; skipped) or
 * `invalid` (with the reason; skipped). Secrets are compared by sha256 fingerprint, never in clear. Everything,
 * and one `account.import` audit row, is written in one transaction, under a lock on the channel (K13).
 */
export const MAX_IMPORT_LINES = 1000;
const MAX_CREDENTIAL_LENGTH = 4096;
const MAX_LABEL_LENGTH = 200;

export type ImportLine = string | { credential: string; label?: string | null };

export type ImportResult =
  | { line: number; status: 'created'; id: string; label: string | null }
  | { line: number; status: 'duplicate'; duplicate_of: string }
  | { line: number; status: 'invalid'; error: string };

function checkLine(line: ImportLine): { credential: string; label: string | null } | string {
  const raw = typeof line === 'string' ? line : line.credential;
  const label = typeof line === 'string' ? null : line.label ?? null;
  const credential = raw.trim();
  if (credential.length === 0) return 'credential is empty';
  if (credential.length > MAX_CREDENTIAL_LENGTH) return `credential is longer than ${MAX_CREDENTIAL_LENGTH} characters`;
  // Whitespace inside a secret is almost always two secrets pasted on one line, or a stray label.
  if (/[\s\p{Cc}]/u.test(credential)) return 'credential contains whitespace or control characters';
  if (label !== null && label.length > MAX_LABEL_LENGTH) return `label is longer than ${MAX_LABEL_LENGTH} characters`;
  return { credential, label: label === null || label.trim() === '' ? null : label.trim() };
}

export async function importAccounts(deps: ChannelsDeps, channelId: string, lines: ImportLine[], audit: AuditContext) {
  if (lines.length === 0 || lines.length > MAX_IMPORT_LINES) {
    throw new AppError('invalid_request', `credentials must hold 1 to ${MAX_IMPORT_LINES} lines`, { param: 'credentials' });
  }
  const results = await deps.db.transaction(async (tx) => {
    const known = await deps.channels.lockFingerprints(channelId, tx);
    const out: ImportResult[] = [];
    for (const [index, line] of lines.entries()) {
      const checked = checkLine(line);
      if (typeof checked === 'string') {
        out.push({ line: index, status: 'invalid', error: checked });
        continue;
      }
      const fingerprint = sha256Hex(checked.credential);
      const existing = known.get(fingerprint);
      if (existing) {
        out.push({ line: index, status: 'duplicate', duplicate_of: existing });
        continue;
      }
      const row = await deps.channels.addCredential(channelId, checked.credential, checked.label, tx);
      known.set(fingerprint, row.id);
      out.push({ line: index, status: 'created', id: row.id, label: row.label });
    }
    const created = out.filter((result) => result.status === 'created').map((result) => (result as { id: string }).id);
    await recordAudit(tx, audit, {
      action: 'account.import', targetType: 'channel', targetId: channelId,
      after: { created, duplicates: out.filter((result) => result.status === 'duplicate').length, invalid: out.filter((result) => result.status === 'invalid').length },
    }, deps.clock.now());
    return out;
  });
  deps.channels.invalidate();
  const count = (status: ImportResult['status']) => results.filter((result) => result.status === status).length;
  return { object: 'account_import', channel_id: channelId, created: count('created'), duplicates: count('duplicate'), invalid: count('invalid'), results };
}
