import { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.js';
import type { KeyRecord } from './types.js';

/**
 * Per-process cache of key lookups (K7): bounded LRU keyed by key hash, entries live `ttlMs` (≤ 30 s) on the
 * injected clock, plus a short negative cache for unknown hashes. Expiry and revocation are evaluated on every
 * request from the cached row, never cached as "valid". Changes evict at once here and are broadcast to other
 * processes through a `KeyInvalidation`, so the propagation bound is immediate here and ≤ ttl elsewhere.
 */
interface Entry {
  record: KeyRecord | null;
  storedAt: number;
}

export const NEGATIVE_TTL_MS = 5_000;

export class KeyCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly misses: LRUCache<string, Entry>;
  /** Customers' routing groups (the worker routes every dispatch by one), kept and evicted like the keys. */
  private readonly groups: LRUCache<string, { group: string; storedAt: number }>;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    size: number,
  ) {
    this.entries = new LRUCache({ max: size });
    this.misses = new LRUCache({ max: Math.max(100, Math.floor(size / 4)) });
    this.groups = new LRUCache({ max: size });
  }

  /** A customer's cached routing group; `undefined` = not cached (or older than the TTL). */
  group(customerId: string): string | undefined {
    const hit = this.groups.get(customerId);
    if (hit && this.clock.now().getTime() - hit.storedAt < this.ttlMs) return hit.group;
    if (hit) this.groups.delete(customerId);
    return undefined;
  }

  setGroup(customerId: string, group: string): void {
    this.groups.set(customerId, { group, storedAt: this.clock.now().getTime() });
  }

  /** `undefined` = not cached; `null` = cached as unknown. */
  get(hash: string): KeyRecord | null | undefined {
    const now = this.clock.now().getTime();
    const hit = this.entries.get(hash);
    if (hit && now - hit.storedAt < this.ttlMs) return hit.record;
    if (hit) this.entries.delete(hash);
    const miss = this.misses.get(hash);
    if (miss && now - miss.storedAt < NEGATIVE_TTL_MS) return null;
    if (miss) this.misses.delete(hash);
    return undefined;
  }

  set(hash: string, record: KeyRecord | null): void {
    const entry = { record, storedAt: this.clock.now().getTime() };
    if (record) {
      this.misses.delete(hash);
      this.entries.set(hash, entry);
    } else {
      this.misses.set(hash, entry);
    }
  }

  evictHash(hash: string): void {
    this.entries.delete(hash);
    this.misses.delete(hash);
  }

  evictCustomer(customerId: string): void {
    this.groups.delete(customerId);
    for (const [hash, entry] of this.entries.entries()) {
      if (entry.record?.key.customer_id === customerId) this.entries.delete(hash);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A change to broadcast: one key (by hash) or every key of a customer (suspension, plan change). */
export type KeyChange = { kind: 'key'; hash: string } | { kind: 'customer'; customerId: string };

export interface KeyInvalidation {
  publish(change: KeyChange): Promise<void>;
  subscribe(listener: (change: KeyChange) => void): void;
  close(): Promise<void>;
}

export function encodeKeyChange(change: KeyChange): string {
  return change.kind === 'key' ? `key:${change.hash}` : `customer:${change.customerId}`;
}

export function decodeKeyChange(payload: string): KeyChange | null {
  if (payload.startsWith('key:')) return { kind: 'key', hash: payload.slice(4) };
  if (payload.startsWith('customer:')) return { kind: 'customer', customerId: payload.slice(9) };
  return null;
}

/** Single process (embedded mode): the in-process eviction is all there is to do. */
export class LocalInvalidation implements KeyInvalidation {
  private readonly listeners: Array<(change: KeyChange) => void> = [];
  async publish(change: KeyChange): Promise<void> {
    for (const listener of this.listeners) listener(change);
  }
  subscribe(listener: (change: KeyChange) => void): void {
    this.listeners.push(listener);
  }
  async close(): Promise<void> {}
}
