import type { BonusTier, Topup, TopupMethod } from '../../../shared/payments';

export type { Topup };

/** The `/console/api/billing/*` top-up shapes (src/http/routes/customer/billing.ts, topupView in src/workflows/topups.ts). */
export interface TopupOptions {
  methods: TopupMethod[];
  currency: string;
  credits_per_currency_unit: number;
  /** Minor units of `currency`. */
  min_amount: number;
  max_amount: number;
  bonus_tiers: BonusTier[];
  window_seconds: number;
  /** The network each USDT method pays on (`tron`, or the EVM chain's configured name). */
  networks?: Partial<Record<TopupMethod, string>>;
}


/** One order as the console's order page reads it: the QR code of the address while it can be paid, the receipt once paid. */
export interface ConsoleTopup extends Topup {
  /** `data:image/svg+xml;base64,…` (rendered through SafeSvg, never as an image: the console's CSP refuses data: images). */
  qr_svg: string | null;
  receipt: { number: string; customer: { id: string; name: string | null; email: string | null }; payment_ref: string | null } | null;
}

export interface TopupList {
  data: Topup[];
  has_more: boolean;
}
