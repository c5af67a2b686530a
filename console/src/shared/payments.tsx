import { Badge, type Tone } from './components';
import './payments.css';

/**
 * Top-ups (issue 13), what both apps show the same way: the methods' names, order statuses as badges, money in minor
 * units of a currency (cents for USD; micro-USDT for chain transfers), the credits an amount buys (the server's rule,
 * SEMANTICS P2: integer arithmetic, rounded down, the highest bonus tier the amount reaches) and amounts typed in
 * major units turned into minor units.
 */
export type TopupMethod = 'stripe' | 'usdt_tron' | 'usdt_evm';
export type TopupStatus = 'pending' | 'confirming' | 'paid' | 'expired' | 'failed' | 'refunded';
export const TOPUP_STATUSES: TopupStatus[] = ['pending', 'confirming', 'paid', 'expired', 'failed', 'refunded'];
export const TOPUP_METHODS: TopupMethod[] = ['stripe', 'usdt_tron', 'usdt_evm'];

export interface BonusTier {
  /** Minor units of the price currency. */
  min_amount: number;
  bonus_percent: number;
}

const METHOD_LABELS: Record<TopupMethod, string> = {
  stripe: 'Card (Stripe)',
  usdt_tron: 'USDT on TRON (TRC-20)',
  usdt_evm: 'USDT (ERC-20)',
};

/** `Card (Stripe)`, `USDT on TRON (TRC-20)`, `USDT on Ethereum (ERC-20)` (the EVM network as configured). */
export function methodLabel(method: string, network?: string | null): string {
  if (method === 'usdt_evm' && network && network !== 'evm') return `USDT on ${capitalize(network)} (ERC-20)`;
  return METHOD_LABELS[method as TopupMethod] ?? method;
}

/** The chain an address lives on, for the "send on this network" warning. */
export function networkLabel(method: string, network?: string | null): string {
  if (method === 'usdt_tron') return 'TRON (TRC-20)';
  return `${network && network !== 'evm' ? capitalize(network) : 'EVM'} (ERC-20)`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const STATUS_TONES: Record<TopupStatus, Tone> = {
  pending: 'info',
  confirming: 'info',
  paid: 'ok',
  expired: 'neutral',
  failed: 'bad',
  refunded: 'warn',
};

export function TopupStatusBadge(props: { status: string; confirmations?: { seen: number; required: number | null } | null }) {
  const tone = STATUS_TONES[props.status as TopupStatus] ?? 'neutral';
  const text = props.status === 'confirming' && props.confirmations && (props.confirmations.required ?? 0) > 0
    ? `confirming ${props.confirmations.seen}/${props.confirmations.required}`
    : props.status;
  return <Badge tone={tone}>{text}</Badge>;
}

/** Decimal places of a currency's minor unit (USD 2, JPY 0); USDT amounts here are micro-units (6). */
export function currencyExponent(currency: string): number {
  if (currency.toUpperCase() === 'USDT') return 6;
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Minor units → a decimal string without grouping: 1234 USD → `12.34` (exact: no floating point). */
export function minorToDecimal(amount: number | string | bigint, currency: string, trimZeros = false): string {
  const exponent = currencyExponent(currency);
  let value = BigInt(amount);
  const negative = value < 0n;
  if (negative) value = -value;
  const unit = 10n ** BigInt(exponent);
  const whole = (value / unit).toString();
  let fraction = exponent > 0 ? (value % unit).toString().padStart(exponent, '0') : '';
  if (trimZeros) fraction = fraction.replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Minor units as money: `$12.34` (USD), `€5.00`, `12.3401 USDT` (micro-USDT, trailing zeros dropped, at least two
 * decimals). Unknown currency codes fall back to `12.34 XYZ`.
 */
export function formatMoney(amount: number | string | bigint | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined || !currency) return '—';
  const code = currency.toUpperCase();
  if (code === 'USDT') {
    const text = minorToDecimal(amount, 'USDT', true);
    const [whole, fraction = ''] = text.split('.');
    return `${groupDigits(whole!)}.${fraction.padEnd(2, '0')} USDT`;
  }
  const exponent = currencyExponent(code);
  const text = minorToDecimal(amount, code);
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: code, minimumFractionDigits: exponent, maximumFractionDigits: exponent }).format(Number(text));
  } catch {
    return `${text} ${code}`;
  }
}

function groupDigits(whole: string): string {
  const negative = whole.startsWith('-');
  const digits = negative ? whole.slice(1) : whole;
  return `${negative ? '-' : ''}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/**
 * An amount typed in major units (`25`, `25.5`, `1,000.00`) → minor units, or an error message. No floating point:
 * the digits are shifted as text.
 */
export function parseMajor(text: string, currency: string): { amount: number } | { error: string } {
  const exponent = currencyExponent(currency);
  const clean = text.trim().replace(/[,\s]/g, '');
  if (clean === '') return { error: 'Enter an amount.' };
  const match = /^(\d{1,13})(?:\.(\d*))?$/.exec(clean);
  if (!match) return { error: `Enter an amount in ${currency}, like 25 or 25.50.` };
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    return { error: exponent === 0 ? `${currency} amounts have no decimals.` : `At most ${exponent} decimals.` };
  }
  const amount = Number(BigInt(match[1]!) * 10n ** BigInt(exponent) + BigInt(fraction.padEnd(exponent, '0') || '0'));
  return Number.isSafeInteger(amount) ? { amount } : { error: 'That amount is too large.' };
}

export interface CreditQuote {
  base: number;
  bonus: number;
  credits: number;
  bonusPercent: number;
  /** The tier that applies, if any. */
  tier: BonusTier | null;
}

/**
 * The credits `amount` minor units buy: `creditsPerUnit` per major unit, rounded down, plus the bonus of the highest
 * tier the amount reaches (rounded down). `paidMicroUsdt` values a USDT payment by what it carried (an operator's hand
 * credit of an odd amount), as the server does.
 */
export function quoteCredits(amount: number, currency: string, creditsPerUnit: number, tiers: readonly BonusTier[], paidMicroUsdt: bigint | null = null): CreditQuote {
  const base = paidMicroUsdt !== null
    ? (paidMicroUsdt * BigInt(creditsPerUnit)) / 1_000_000n
    : (BigInt(amount) * BigInt(creditsPerUnit)) / 10n ** BigInt(currencyExponent(currency));
  const tier = [...tiers].filter((candidate) => candidate.min_amount <= amount).sort((a, b) => b.min_amount - a.min_amount)[0] ?? null;
  const bonusPercent = tier?.bonus_percent ?? 0;
  const bonus = (base * BigInt(bonusPercent)) / 100n;
  return { base: Number(base), bonus: Number(bonus), credits: Number(base + bonus), bonusPercent, tier };
}

/** `10 % from $50.00 · 20 % from $200.00`, lowest first; '' without tiers. */
export function describeTiers(tiers: readonly BonusTier[], currency: string): string {
  return [...tiers]
    .filter((tier) => tier.bonus_percent > 0)
    .sort((a, b) => a.min_amount - b.min_amount)
    .map((tier) => `+${tier.bonus_percent} % from ${formatMoney(tier.min_amount, currency)}`)
    .join(' · ');
}

/** A top-up order as every face shows it (topupView in src/workflows/topups.ts). */
export interface Topup {
  id: string;
  object: 'topup';
  method: TopupMethod;
  status: TopupStatus;
  /** Minor units of `currency` (cents for USD). */
  amount: number;
  currency: string;
  /** Credits bought, bonus included. */
  credits: number;
  bonus_credits: number;
  /** Unix seconds. */
  created_at: number;
  expires_at: number;
  paid_at: number | null;
  /** Stripe's hosted checkout page while the order is pending. */
  checkout_url: string | null;
  /** USDT: where to send, the exact amount (a decimal string), the network. */
  pay_to: { address: string; amount: string; network: string; token: string } | null;
  /** `required` is null until known (an EVM chain followed by its `finalized` tag). */
  confirmations: { seen: number; required: number | null } | null;
  refunded_amount: number;
  failure_reason: string | null;
}
