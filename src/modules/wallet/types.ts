export type Mode = 'live' | 'test';

export interface WalletRow {
  id: string;
  customer_id: string;
  mode: Mode;
  balance: bigint;
  reserved: bigint;
  updated_at: Date;
}

export interface LedgerEntryRow {
  id: bigint;
  wallet_id: string;
  kind: 'topup' | 'charge' | 'grant' | 'adjustment' | 'refund';
  amount: bigint;
  ref_type: string;
  ref_id: string;
  reason: string | null;
  audit_id: bigint | null;
  created_at: Date;
  /** The task of a `reservation` entry (joined by the ledger listing; absent elsewhere). */
  task_id?: string | null;
}

export interface Balance {
  mode: Mode;
  balance: bigint;
  reserved: bigint;
  available: bigint;
}

export interface ReserveInput {
  taskId: string;
  reservationId: string;
  customerId: string;
  mode: Mode;
  apiKeyId: string;
  /** Effective concurrency limit (K12); null = unlimited. */
  maxConcurrency: number | null;
  idempotencyKey: string | null;
  fingerprint: string | null;
  cost: bigint;
  now: Date;
  expiresAt: Date;
  hardDeadline: Date;
  type: string;
  model: string;
  request: unknown;
  /** Text tasks start `dispatching` under the request handler's lease (T15). */
  initialStatus?: 'queued' | 'dispatching';
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  face?: string;
  callbackUrl?: string | null;
  metadata?: unknown;
  /** The catalogue price version and the customer's group percent the hold was priced at (SEMANTICS M9, M10). */
  priceVersion?: number | null;
  pricePercent?: number | null;
}

export type ReserveOutcome = 'created' | 'replay' | 'conflict';

export type ResolveOutcome = 'settled' | 'released' | 'already_resolved' | 'skipped' | 'not_found';

export interface ResolveResult {
  outcome: ResolveOutcome;
  charged: bigint;
  overage: bigint;
}
