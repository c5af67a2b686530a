import type { Db, Queryable } from '../../db/pool.js';
import { prepared } from '../../db/pool.js';
import { GroupCommitter, type GroupCommitOptions, type GroupRunner } from '../../db/group-commit.js';
import type { Clock } from '../../lib/clock.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { Mode, ReserveInput, ResolveResult } from './types.js';

/**
 * Credit leases (issue 14, migration 0024): a chat or embeddings request written once.
 *
 * An instance reserves a slice of a wallet's credit for itself — a lease, counted in the wallet's `reserved` like a
 * hold — and admits text requests against that slice in memory: a request's hold (M1) is taken from the slice, not
 * written. When the request ends it is written once, with the others of its group (gr_record_group): its final task
 * row, its reservation (settled or released, naming the lease), its charge entry, one update of the wallet and of the
 * lease. It is answered only after that statement committed, as before.
 *
 * - A slice grows on demand: when the requests in flight need more than it holds, the instance asks for twice what
 *   they need (gr_lease_take), but never more than half of the wallet's free credit unless the waiting requests need
 *   more, so instances sharing a wallet leave each other room. A wallet that cannot give what the waiting requests
 *   need gives nothing, and they make holds of their own (the per-request path: exact, 402 when the credit is not
 *   there).
 * - A lease goes back to its wallet once no request is in flight on it for `idleMs` — at the next upkeep round when
 *   its last take was cut short by the half-of-free rule (the wallet is nearly empty and other instances may need it)
 *   — and when the process shuts down. An operator adjustment or a reversal that needs the credit takes it back
 *   (gr_lease_reclaim); like an expired lease, the instance then finds it gone. The instance renews its leases'
 *   expiry while it runs; a lease whose instance died expires after `ttlMs` and the sweeper gives it back
 *   (gr_lease_sweep). Its requests in flight were never written, so never charged.
 * - Requests under a key with a concurrency limit are not admitted on leases: the limit counts held reservations in
 *   the database, across instances (K12).
 */
export interface LeaseOptions {
  /** Who holds the leases: one id per process. */
  owner: string;
  /** A lease's expiry after its last renewal (the time a dead instance's lease stays reserved). */
  ttlMs: number;
  /** How long a lease with no request in flight is kept before it goes back to its wallet. */
  idleMs: number;
}

interface Waiter {
  need: bigint;
  resolve(admitted: boolean): void;
}

interface Lease {
  /** `customer:mode`: the lease's place in this instance's book. */
  key: string;
  customerId: string;
  mode: Mode;
  id: string;
  /** The lease's amount as this instance counts it: what it took, less what its records charged to it. */
  granted: bigint;
  /** The holds of the requests admitted on it and not yet recorded. */
  held: bigint;
  inflight: number;
  waiters: Waiter[];
  taking: boolean;
  lastActive: number;
  /** The expiry this instance last wrote (ms). */
  expiresAt: number;
  /** Its last take gave less than asked: the wallet is nearly empty, so it goes back at the first upkeep it is idle. */
  limited: boolean;
}

export interface LeaseAdmission {
  readonly lease: Lease;
  readonly hold: bigint;
}

/**
 * A request admitted on a lease, as the reservation it would otherwise have made (`ReserveInput`: its ids, wallet, key,
 * model, stored request and times; `now` is when it arrived). Its hold is the admission's.
 */
export type AdmittedRequest = Pick<ReserveInput,
  'taskId' | 'reservationId' | 'customerId' | 'mode' | 'apiKeyId' | 'type' | 'model' | 'request' | 'now' | 'expiresAt' |
  'hardDeadline' | 'priceVersion' | 'pricePercent'>;

/** How it ended: settled at `actual` (never above the hold) or released, and the route that served it. */
export interface RequestEnding {
  outcome: 'settled' | 'released';
  finalStatus: 'succeeded' | 'failed' | 'cancelled' | 'expired';
  actual: bigint;
  errorCode: string | null;
  /** The upstream cost in credits (M11). */
  cost: bigint | null;
  now: Date;
  route: { provider: string; channelId: string | null; credentialId: string | null; triedChannels: string[] } | null;
}

export interface RecordResult extends ResolveResult {
  /** The part of the charge the lease paid; the rest (if any) came from the wallet's free credit. */
  fromLease: bigint;
  /** The lease's amount after the group; null when the lease is gone (expired and swept). */
  leaseLeft: bigint | null;
}

/** One item of gr_record_group: the request, how it ended, its hold and its lease. */
export interface RecordInput {
  request: AdmittedRequest;
  ending: RequestEnding;
  hold: bigint;
  leaseId: string | null;
}

const RECORD_GROUP = prepared('gr_record_group',
  'SELECT item, outcome, charged, overage, from_lease, lease_left FROM gr_record_group($1::jsonb)');
const LEASE_TAKE = prepared('gr_lease_take', 'SELECT gr_lease_take($1, $2, $3, $4, $5, $6, $7, $8) AS taken');

function iso(value: Date): string {
  return value.toISOString();
}

export function recordRunner(db: Queryable): GroupRunner<RecordInput, RecordResult> {
  return {
    async run(inputs) {
      const items = inputs.map(({ request, ending, hold, leaseId }) => ({
        id: request.taskId, reservation_id: request.reservationId, lease: leaseId, customer: request.customerId,
        mode: request.mode, key: request.apiKeyId, type: request.type, model: request.model, request: request.request ?? {},
        hold: String(hold), actual: String(ending.actual), outcome: ending.outcome, final_status: ending.finalStatus,
        error_code: ending.errorCode, cost: ending.cost === null ? null : String(ending.cost), created: iso(request.now),
        now: iso(ending.now), expires: iso(request.expiresAt), deadline: iso(request.hardDeadline),
        price_version: request.priceVersion ?? null, price_percent: request.pricePercent ?? null,
        route_provider: ending.route?.provider ?? null, route_channel: ending.route?.channelId ?? null,
        route_credential: ending.route?.credentialId ?? null, route_tried: ending.route?.triedChannels ?? null,
      }));
      const result = await db.query<{ item: number; outcome: RecordResult['outcome']; charged: bigint; overage: bigint; from_lease: bigint; lease_left: bigint | null }>(
        RECORD_GROUP, [JSON.stringify(items)]);
      const rows: RecordResult[] = new Array(inputs.length);
      for (const row of result.rows) {
        rows[Number(row.item) - 1] = {
          outcome: row.outcome, charged: BigInt(row.charged), overage: BigInt(row.overage), fromLease: BigInt(row.from_lease),
          leaseLeft: row.lease_left === null ? null : BigInt(row.lease_left),
        };
      }
      return rows;
    },
    wrote: (row) => row.outcome === 'settled' || row.outcome === 'released',
  };
}

export interface LeaseStats {
  takes: number;
  /** Takes that gave nothing (the requests waiting made holds of their own). */
  refusals: number;
  returns: number;
  /** Leases found gone (expired and swept) while this instance still counted on them. */
  lost: number;
  admitted: number;
}

export class CreditLeases {
  readonly records: GroupCommitter<RecordInput, RecordResult>;
  readonly stats: LeaseStats = { takes: 0, refusals: 0, returns: 0, lost: 0, admitted: 0 };
  private readonly book = new Map<string, Lease>();
  private timer: NodeJS.Timeout | null = null;
  private maintaining: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly options: LeaseOptions,
    groupOptions: GroupCommitOptions,
  ) {
    this.records = new GroupCommitter(recordRunner(db), groupOptions);
  }

  /** Starts renewing and returning leases in the background (every `idleMs`, at most once a second). */
  start(onError: (error: unknown) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.maintain().catch(onError);
    }, Math.max(100, Math.min(this.options.idleMs, 1000)));
    this.timer.unref();
  }

  /** How many leases this instance holds (a metric). */
  get count(): number {
    return this.book.size;
  }

  /**
   * Admits a request whose hold is `hold` on this instance's lease of the wallet, taking (more of) the lease when
   * needed. Null: the wallet could not give it; the caller makes a hold of its own.
   */
  async admit(customerId: string, mode: Mode, hold: bigint): Promise<LeaseAdmission | null> {
    if (this.closed || hold < 0n) return null;
    const key = `${customerId}:${mode}`;
    let lease = this.book.get(key);
    if (!lease) {
      lease = {
        key, customerId, mode, id: this.ids('lse'), granted: 0n, held: 0n, inflight: 0, waiters: [], taking: false,
        lastActive: this.clock.now().getTime(), expiresAt: 0, limited: false,
      };
      this.book.set(key, lease);
    }
    if (lease.waiters.length === 0 && lease.granted - lease.held >= hold) return this.enter(lease, hold);
    const admitted = await new Promise<boolean>((resolve) => {
      lease.waiters.push({ need: hold, resolve });
      this.take(lease);
    });
    return admitted ? { lease, hold } : null;
  }

  private enter(lease: Lease, hold: bigint): LeaseAdmission {
    lease.held += hold;
    lease.inflight += 1;
    lease.lastActive = this.clock.now().getTime();
    this.stats.admitted += 1;
    return { lease, hold };
  }

  /**
   * Admits the waiting requests in arrival order, taking more of the lease whenever the next one does not fit: at least
   * what it lacks, and up to twice what the requests in flight and waiting hold (so a busy wallet asks rarely). When the
   * wallet cannot give what the next one lacks, it and the rest make holds of their own. Near the end of a balance this
   * admits exactly as many requests as the credit covers: each take gives at least what one more request lacks while
   * the wallet has it.
   */
  private take(lease: Lease): void {
    if (lease.taking) return;
    lease.taking = true;
    void (async () => {
      try {
        while (lease.waiters.length > 0) {
          const next = lease.waiters[0]!;
          const lacking = next.need - (lease.granted - lease.held);
          if (lacking <= 0n) {
            lease.waiters.shift();
            this.enter(lease, next.need);
            next.resolve(true);
            continue;
          }
          const waiting = lease.waiters.reduce((sum, waiter) => sum + waiter.need, 0n);
          const target = 2n * (lease.held + waiting) - lease.granted;
          const want = target > lacking ? target : lacking;
          const now = this.clock.now();
          const expires = now.getTime() + this.options.ttlMs;
          const result = await this.db.query<{ taken: bigint }>(LEASE_TAKE, [
            lease.id, lease.customerId, lease.mode, this.options.owner, lacking, want, now, new Date(expires),
          ]);
          const taken = BigInt(result.rows[0]?.taken ?? 0);
          this.stats.takes += 1;
          if (taken === 0n) {
            this.stats.refusals += 1;
            lease.limited = true;
            this.refuseWaiters(lease);
            break;
          }
          lease.granted += taken;
          lease.expiresAt = Math.max(lease.expiresAt, expires);
          lease.limited = taken < want;
        }
      } catch {
        this.refuseWaiters(lease);
      } finally {
        lease.taking = false;
      }
    })();
  }

  private refuseWaiters(lease: Lease): void {
    for (const waiter of lease.waiters.splice(0)) waiter.resolve(false);
  }

  /**
   * Writes the finished request once (gr_record_group, in this instance's next record group) and gives its hold back
   * to the lease. The answer to the client waits for this.
   */
  async record(admission: LeaseAdmission, request: AdmittedRequest, ending: RequestEnding): Promise<RecordResult> {
    const { lease, hold } = admission;
    try {
      const result = await this.records.submit({ request, ending, hold, leaseId: lease.id });
      lease.granted -= result.fromLease;
      if (result.leaseLeft === null) this.lose(lease);
      return result;
    } finally {
      lease.held -= hold;
      lease.inflight -= 1;
      lease.lastActive = this.clock.now().getTime();
    }
  }

  /** The lease is gone from the database (expired, swept): later requests take a new one. */
  private lose(lease: Lease): void {
    if (this.book.get(lease.key) === lease) {
      this.book.delete(lease.key);
      this.stats.lost += 1;
    }
    lease.granted = 0n;
  }

  /** Returns idle leases and renews the others' expiry. Runs in the background; tests call it directly. */
  maintain(): Promise<void> {
    if (!this.maintaining) {
      this.maintaining = this.maintainOnce().finally(() => {
        this.maintaining = null;
      });
    }
    return this.maintaining;
  }

  private async maintainOnce(): Promise<void> {
    const now = this.clock.now().getTime();
    const renew: Lease[] = [];
    for (const lease of [...this.book.values()]) {
      const idle = lease.inflight === 0 && lease.waiters.length === 0 && !lease.taking;
      if (idle && (lease.limited || lease.granted === 0n || now - lease.lastActive >= this.options.idleMs)) {
        await this.giveBack(lease);
      } else if (lease.granted > 0n && lease.expiresAt - now < this.options.ttlMs / 2) {
        renew.push(lease);
      }
    }
    if (renew.length === 0) return;
    const until = new Date(now + this.options.ttlMs);
    const renewed = await this.db.query<{ id: string }>(
      `UPDATE credit_leases SET expires_at = $2, updated_at = $3
        WHERE id IN (SELECT id FROM credit_leases WHERE id = ANY ($1::text[]) AND owner = $4 ORDER BY id FOR UPDATE)
        RETURNING id`,
      [renew.map((lease) => lease.id), until, new Date(now), this.options.owner],
    );
    const alive = new Set(renewed.rows.map((row) => row.id));
    for (const lease of renew) {
      if (alive.has(lease.id)) lease.expiresAt = until.getTime();
      else this.lose(lease);
    }
  }

  private async giveBack(lease: Lease): Promise<void> {
    if (this.book.get(lease.key) === lease) this.book.delete(lease.key);
    if (lease.granted === 0n && lease.expiresAt === 0) return;
    await this.db.query('SELECT gr_lease_return($1, $2)', [lease.id, this.clock.now()]);
    this.stats.returns += 1;
  }

  /**
   * Drops every lease from this instance's book without giving it back, as a killed process does: the rows stay
   * until they expire. Crash tests use it; so does a test that empties the database under a running instance.
   */
  forget(): void {
    for (const lease of this.book.values()) this.refuseWaiters(lease);
    this.book.clear();
  }

  /** Stops taking leases and gives every lease back (after the server stopped admitting requests). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.maintaining?.catch(() => {});
    for (const lease of [...this.book.values()]) {
      this.refuseWaiters(lease);
      await this.giveBack(lease).catch(() => {});
    }
  }
}

/** The sweeper's part: expired leases (their instance stopped renewing them) go back to their wallets. */
export async function sweepExpiredLeases(db: Queryable, now: Date, limit = 500): Promise<{ leases: number; credit: bigint }> {
  const result = await db.query<{ leases: number; credit: bigint }>('SELECT leases, credit FROM gr_lease_sweep($1, $2)', [now, limit]);
  const row = result.rows[0];
  return { leases: Number(row?.leases ?? 0), credit: BigInt(row?.credit ?? 0) };
}
