/** Top-up orders and payment exceptions (issue 13, SEMANTICS §8): the rows as the database returns them. */
export const TOPUP_METHODS = ['stripe', 'usdt_tron', 'usdt_evm'] as const;
export type TopupMethod = (typeof TOPUP_METHODS)[number];
export const TOPUP_STATUSES = ['pending', 'confirming', 'paid', 'expired', 'failed', 'refunded'] as const;
export type TopupStatus = (typeof TOPUP_STATUSES)[number];
export type UsdtMethod = Exclude<TopupMethod, 'stripe'>;

export interface TopupOrderRow {
  id: string;
  customer_id: string;
  method: TopupMethod;
  status: TopupStatus;
  amount: string;
  currency: string;
  credits: string;
  bonus_credits: string;
  created_at: Date;
  expires_at: Date;
  paid_at: Date | null;
  created_by: string | null;
  idempotency_key: string | null;
  stripe_session_id: string | null;
  stripe_payment_intent: string | null;
  checkout_url: string | null;
  pay_address: string | null;
  pay_amount_micro: string | null;
  pay_network: string | null;
  confirmations_seen: number;
  confirmations_required: number;
  payment_ref_type: string | null;
  payment_ref_id: string | null;
  refunded_amount: string;
  reversed_credits: string;
  failure_reason: string | null;
  updated_at: Date;
}

export type ExceptionQueue = 'quarantine' | 'unmatched';
export type ExceptionStatus = 'open' | 'credited' | 'refunded' | 'dismissed';

export interface PaymentExceptionRow {
  id: string;
  queue: ExceptionQueue;
  kind: string;
  method: TopupMethod;
  order_id: string | null;
  customer_id: string | null;
  ref_type: string;
  ref_id: string;
  amount: string | null;
  currency: string | null;
  details: Record<string, unknown>;
  status: ExceptionStatus;
  resolution: Record<string, unknown> | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  created_at: Date;
}

/** What gr_credit_topup answers (SEMANTICS P1). */
export interface CreditOutcome {
  outcome: 'credited' | 'duplicate' | 'already_paid' | 'not_creditable';
  ledger_id: string | null;
  wallet_id: string | null;
  credits: string;
}

/** What gr_reverse_topup answers (P10): credits taken back, and what the wallet could not cover. */
export interface ReverseOutcome {
  outcome: 'reversed' | 'duplicate' | 'not_paid';
  applied: string;
  shortfall: string;
}

/** Ledger references of payments (P1): one credit per reference. */
export const REF_TYPES = {
  stripe: 'stripe_checkout_session',
  usdt_tron: 'tron_trc20',
  usdt_evm: 'evm_erc20',
  manual: 'payment_exception',
} as const;

/** The network a USDT method pays on, as the order's `pay_to.network` shows it. */
export const USDT_NETWORK: Record<UsdtMethod, string> = { usdt_tron: 'tron', usdt_evm: 'evm' };
/** USDT has 6 decimals on both chains; order amounts on chains are micro-USDT. */
export const USDT_DECIMALS = 6;
