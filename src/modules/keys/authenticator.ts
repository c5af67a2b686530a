import { AppError } from '../../lib/errors.js';
import type { Clock } from '../../lib/clock.js';
import { sha256Hex } from '../../lib/hash.js';
import { matchesAny, parseCidr, type Cidr } from '../../lib/ip.js';
import type { KeyCache } from './key-cache.js';
import { parseKey, type KeyMode } from './key-format.js';
import type { LastUsedTracker } from './last-used.js';
import type { KeyService } from './service.js';
import type { KeyRecord } from './types.js';

/** Who is calling, as every route after authentication sees it. Limits are the effective ones (K12). */
export interface Principal {
  keyId: string;
  keyHash: string;
  keyPrefix: string;
  customerId: string;
  mode: KeyMode;
  group: string;
  scopes: string[];
  /** null = every model. */
  allowedModels: string[] | null;
  rateLimitRpm: number | null;
  maxConcurrency: number | null;
  ipAllowlist: string[];
}

export interface Credentials {
  authorization: string | undefined;
  apiKeyHeader: string | undefined;
}

const INVALID_MESSAGE = 'Invalid or missing API key';

export class Authenticator {
  constructor(
    private readonly prefix: string,
    private readonly keys: KeyService,
    private readonly cache: KeyCache,
    private readonly lastUsed: LastUsedTracker,
    private readonly clock: Clock,
    private readonly defaultRateLimitRpm: number | null,
  ) {}

  /** Extracts the presented key (K4): Bearer or X-API-Key; both present must match. */
  static presentedKey(credentials: Credentials): string | null {
    const bearer = credentials.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? null;
    if (credentials.authorization !== undefined && bearer === null) return null;
    const header = credentials.apiKeyHeader?.trim() || null;
    if (credentials.apiKeyHeader !== undefined && header === null) return null;
    if (bearer && header && bearer !== header) return null;
    return bearer ?? header;
  }

  /** K3 → K5 → K6 (up to the IP check): throws the documented 401/403 AppError. */
  async authenticate(credentials: Credentials, clientIp: string): Promise<Principal> {
    const raw = Authenticator.presentedKey(credentials);
    if (!raw || !parseKey(this.prefix, raw)) throw new AppError('invalid_api_key', INVALID_MESSAGE);
    const hash = sha256Hex(raw);
    let record = this.cache.get(hash);
    if (record === undefined) {
      record = await this.keys.findByHash(hash);
      this.cache.set(hash, record);
    }
    if (!record) throw new AppError('invalid_api_key', INVALID_MESSAGE);
    const { key } = record;
    if (key.revoked_at) throw new AppError('api_key_revoked', 'API key revoked');
    if (key.expires_at && key.expires_at.getTime() <= this.clock.now().getTime()) {
      throw new AppError('api_key_expired', 'API key expired');
    }
    if (record.customerStatus !== 'active') throw new AppError('customer_suspended', 'Customer account is suspended');
    const allowlist = parsedAllowlist(key.ip_allowlist);
    if (allowlist.length > 0 && !matchesAny(clientIp, allowlist)) {
      throw new AppError('ip_not_allowed', 'Requests from this IP address are not allowed for this API key');
    }
    this.lastUsed.record(key.id);
    return this.principal(record, hash);
  }

  private principal(record: KeyRecord, hash: string): Principal {
    const { key, plan } = record;
    return {
      keyId: key.id,
      keyHash: hash,
      keyPrefix: key.key_prefix,
      customerId: key.customer_id,
      mode: key.mode,
      group: record.customerGroup,
      scopes: key.scopes,
      allowedModels: intersectModels(plan.allowed_models ?? null, key.allowed_models),
      rateLimitRpm: key.rate_limit_rpm ?? plan.rate_limit_rpm ?? this.defaultRateLimitRpm,
      maxConcurrency: key.max_concurrency ?? plan.max_concurrency ?? null,
      ipAllowlist: key.ip_allowlist,
    };
  }
}

/** A key's allow-list never widens its plan's (K12). */
export function intersectModels(plan: string[] | null, key: string[] | null): string[] | null {
  if (plan === null) return key;
  if (key === null) return plan;
  return key.filter((model) => plan.includes(model));
}

const parsedCache = new Map<string, Cidr[]>();
function parsedAllowlist(list: string[]): Cidr[] {
  if (list.length === 0) return [];
  const cacheKey = list.join(',');
  let parsed = parsedCache.get(cacheKey);
  if (!parsed) {
    parsed = list.map(parseCidr).filter((cidr): cidr is Cidr => cidr !== null);
    if (parsedCache.size > 10_000) parsedCache.clear();
    parsedCache.set(cacheKey, parsed);
  }
  return parsed;
}

/** Scope gate (K10): an empty scope list allows every family. */
export function requireScope(principal: Principal, scope: string): void {
  if (principal.scopes.length > 0 && !principal.scopes.includes(scope)) {
    throw new AppError('scope_not_allowed', `This API key lacks the "${scope}" scope`);
  }
}

/** Model allow-list (K10), checked after body validation. */
export function requireModel(principal: Principal, model: string): void {
  if (principal.allowedModels !== null && !principal.allowedModels.includes(model)) {
    throw new AppError('model_not_allowed', `This API key may not use model "${model}"`, { param: 'model' });
  }
}
