import type { Plan, CustomerStatus } from '../customers/service.js';
import type { KeyMode } from './key-format.js';

/** Route families a key may be limited to (K10). Empty scopes = every family. */
export const SCOPES = ['images', 'videos', 'music', 'text', 'tasks:read', 'keys'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyRow {
  id: string;
  customer_id: string;
  name: string;
  mode: KeyMode;
  key_hash: string;
  key_prefix: string;
  scopes: string[];
  allowed_models: string[] | null;
  ip_allowlist: string[];
  rate_limit_rpm: number | null;
  max_concurrency: number | null;
  inflight: number;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  rotated_from: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** What authentication needs about a key: the key row plus its customer's status, group and plan. */
export interface KeyRecord {
  key: ApiKeyRow;
  customerStatus: CustomerStatus;
  customerGroup: string;
  plan: Plan;
}

export interface NewKeySettings {
  customerId: string;
  name: string;
  mode: KeyMode;
  scopes: string[];
  allowedModels: string[] | null;
  ipAllowlist: string[];
  rateLimitRpm: number | null;
  maxConcurrency: number | null;
  expiresAt: Date | null;
  createdBy: string;
  rotatedFrom: string | null;
}
