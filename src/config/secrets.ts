import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../lib/hash.js';
import type { Config } from './index.js';

/**
 * Generated secrets kept under DATA_DIR when not configured (API.md §10). The operator key is stored only as a
 * sha256; its plaintext is returned once, on the start that generated it, to be printed.
 */
export interface Secrets {
  operatorKeyHash: string;
  /** Set only on the start that generated the operator key. */
  generatedOperatorKey: string | null;
  masterKey: string;
}

interface StoredSecrets {
  operator_key_sha256?: string;
  master_key?: string;
}

export function loadSecrets(config: Config): Secrets {
  const path = join(config.dataDir, 'secrets.json');
  const stored: StoredSecrets = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as StoredSecrets) : {};
  let generatedOperatorKey: string | null = null;
  let changed = false;
  if (!config.operatorApiKey && !stored.operator_key_sha256) {
    generatedOperatorKey = `op_${randomBytes(32).toString('base64url')}`;
    stored.operator_key_sha256 = sha256Hex(generatedOperatorKey);
    changed = true;
  }
  if (!config.masterKey && !stored.master_key) {
    stored.master_key = randomBytes(32).toString('base64');
    changed = true;
  }
  if (changed) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return {
    operatorKeyHash: config.operatorApiKey ? sha256Hex(config.operatorApiKey) : stored.operator_key_sha256!,
    generatedOperatorKey,
    masterKey: config.masterKey ?? stored.master_key!,
  };
}
