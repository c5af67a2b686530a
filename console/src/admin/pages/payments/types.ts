import type { BonusTier, Topup, TopupMethod } from '../../../shared/payments';

/**
 * The operator's payment shapes (src/http/routes/operator/topups.ts: operatorTopupView, exceptionView; the settings
 * route's top-up fields; the dashboard's `topups`).
 */
export interface OperatorTopup extends Topup {
  customer_id: string;
  created_by: string | null;
  stripe_session_id: string | null;
  stripe_payment_intent: string | null;
  payment_ref: { type: string; id: string } | null;
  reversed_credits: number;
}

export type ExceptionQueue = 'quarantine' | 'unmatched';
export type ExceptionStatus = 'open' | 'credited' | 'refunded' | 'dismissed';

export interface PaymentException {
  id: string;
  object: 'payment_exception';
  queue: ExceptionQueue;
  kind: string;
  method: TopupMethod;
  status: ExceptionStatus;
  order_id: string | null;
  customer_id: string | null;
  reference: { type: string; id: string };
  /** Minor units of `currency`: cents, or micro-USDT for chain transfers (`currency` "USDT"). */
  amount: number | null;
  currency: string | null;
  details: Record<string, unknown>;
  resolution: { note?: string; customer_id?: string; credits?: string; order_id?: string; ledger_id?: string | null } | null;
  resolved_by: string | null;
  resolved_at: string | null;
  created_at: string;
}

export interface ResolveResult extends PaymentException {
  order: OperatorTopup | null;
}

export interface TopupSettings {
  signup_mode: string;
  topup_min_amount: number;
  topup_max_amount: number;
  topup_bonus_tiers: BonusTier[];
}

/** `GET /admin/api/admin/dashboard` → `topups`: paid top-ups in the window (net of refunds) and the open queues. */
export interface DashboardTopups {
  revenue: { currency: string; amount: number; orders: number; credits: number }[];
  open_exceptions: { quarantine: number; unmatched: number };
}

export interface OperatorList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/** The public price list's header (`GET /api/pricing`): the price currency and what one unit of it buys. */
export interface PriceCurrency {
  currency: string;
  credits_per_currency_unit: number;
}
