import { AppError } from '../../lib/errors.js';
import { MAX_CREDITS } from '../../lib/money.js';
import type { BonusTier } from '../settings/service.js';

/**
 * What a top-up buys (SEMANTICS P2): credits fixed when the order is created, in integer arithmetic, rounded down.
 * `amount` is in minor units of the price currency (cents for USD); CREDITS_PER_CURRENCY_UNIT credits per major unit;
 * the highest bonus tier the amount reaches adds its percentage, rounded down.
 */
export function currencyExponent(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export interface Quote {
  base: bigint;
  bonus: bigint;
  credits: bigint;
  bonusPercent: number;
}

export function quoteCredits(amount: bigint, currency: string, creditsPerUnit: number, tiers: readonly BonusTier[], paidMicroUsdt: bigint | null = null): Quote {
  // A USDT payment is valued to the micro-unit it carried (an operator's hand credit of an odd amount), else by amount.
  const base = paidMicroUsdt !== null
    ? (paidMicroUsdt * BigInt(creditsPerUnit)) / 1_000_000n
    : (amount * BigInt(creditsPerUnit)) / 10n ** BigInt(currencyExponent(currency));
  const tier = [...tiers].filter((candidate) => BigInt(candidate.min_amount) <= amount).sort((a, b) => b.min_amount - a.min_amount)[0];
  const bonusPercent = tier?.bonus_percent ?? 0;
  const bonus = (base * BigInt(bonusPercent)) / 100n;
  const credits = base + bonus;
  if (base <= 0n) throw new AppError('invalid_request', 'The amount buys no credits', { param: 'amount' });
  if (credits > MAX_CREDITS) throw new AppError('invalid_request', 'The amount buys more credits than a wallet can hold', { param: 'amount' });
  return { base, bonus, credits, bonusPercent };
}

/**
 * USDT is paid at par with the price currency's major unit (the price currency must be USD for USDT methods):
 * `amount` cents → micro-USDT.
 */
export function usdtMicroFor(amount: bigint, currency: string): bigint {
  return amount * 10n ** BigInt(6 - currencyExponent(currency));
}

/** micro-USDT as the decimal string a wallet app takes ("12.3401"). */
export function formatUsdt(micro: bigint | string): string {
  const value = BigInt(micro);
  const whole = value / 1_000_000n;
  const fraction = (value % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole.toString();
}

/** A decimal USDT string ("12.3401") → micro-USDT, or null when it is not one. */
export function parseUsdt(text: string): bigint | null {
  const match = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) return null;
  return BigInt(match[1]!) * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}
