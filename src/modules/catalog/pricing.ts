import { AppError } from '../../lib/errors.js';
import type { UsageFacts } from '../../providers/spec.js';
import type { CatalogModel, PriceRule } from './types.js';

/**
 * Prices in integer credits (SEMANTICS M1). `holdFor` is the most a request can cost, reserved before any upstream
 * work; `chargeFor` prices the usage facts an adapter reported (PROVIDERS §12) and is settled as min(charge, hold).
 */
export interface PricedRequest {
  seconds?: number;
  resolution?: string;
  quality?: string;
  size?: string;
  n?: number;
}

export interface Quote {
  credits: bigint;
  breakdown: Array<{ item: string; quantity: number; unit_credits: number; credits: number }>;
}


/**
 * The customer's price (SEMANTICS M10), the one place a group's percent is applied: every unit price of the rule
 * becomes ceil(unit × percent / 100), computed in integers; quotes, holds and charges then price the request with
 * the scaled rule as usual (each line ceil(quantity × unit)). 100 leaves the model as it is.
 */
export function customerUnitPrice(unit: number, percent: number): number {
  return Number((BigInt(unit) * BigInt(percent) + 99n) / 100n);
}

export function atPercent(model: CatalogModel, percent: number): CatalogModel {
  if (percent === 100) return model;
  const { credits, credits_by, input_credits_per_million, output_credits_per_million, ...rest } = model.pricing;
  const scale = (unit: number) => customerUnitPrice(unit, percent);
  const pricing: PriceRule = {
    ...rest,
    ...(credits !== undefined ? { credits: scale(credits) } : {}),
    ...(credits_by ? { credits_by: Object.fromEntries(Object.entries(credits_by).map(([key, unit]) => [key, scale(unit)])) } : {}),
    ...(input_credits_per_million !== undefined ? { input_credits_per_million: scale(input_credits_per_million) } : {}),
    ...(output_credits_per_million !== undefined ? { output_credits_per_million: scale(output_credits_per_million) } : {}),
  };
  return { ...model, pricing };
}

function unitCredits(rule: PriceRule, ...keys: Array<string | undefined>): number {
  for (const key of keys) {
    if (key !== undefined && rule.credits_by?.[key] !== undefined) return rule.credits_by[key]!;
  }
  if (rule.credits !== undefined) return rule.credits;
  throw new AppError('invalid_request', `No price is set for ${keys.filter(Boolean).join(' / ') || 'this request'}`);
}

function line(item: string, quantity: number, unit: number) {
  return { item, quantity, unit_credits: unit, credits: Math.ceil(quantity * unit) };
}

export function quoteRequest(model: CatalogModel, request: PricedRequest): Quote {
  const rule = model.pricing;
  let breakdown: Quote['breakdown'];
  switch (rule.unit) {
    case 'second': {
      const seconds = Math.ceil(request.seconds ?? model.capabilities.durations?.default ?? 5);
      breakdown = [line(`video ${request.resolution ?? ''} second`.replace('  ', ' '), seconds, unitCredits(rule, request.resolution))];
      break;
    }
    case 'image': {
      const count = request.n ?? 1;
      breakdown = [line('image', count, unitCredits(rule, request.quality, request.size))];
      break;
    }
    case 'track':
      breakdown = [line('music generation', 1, unitCredits(rule))];
      break;
    default:
      throw new AppError('invalid_request', 'Token-priced models are quoted per request by the text API');
  }
  return { credits: BigInt(breakdown.reduce((sum, item) => sum + item.credits, 0)), breakdown };
}

/** The hold is the quote of the request as given: its maximum cost. */
export function holdFor(model: CatalogModel, request: PricedRequest): bigint {
  return quoteRequest(model, request).credits;
}

/** Actual cost of reported usage, rounded up; non-billable facts cost nothing (L6). */
export function chargeFor(model: CatalogModel, request: PricedRequest, usage: UsageFacts | undefined): bigint {
  if (!usage || usage.billable === false) return 0n;
  const rule = model.pricing;
  switch (rule.unit) {
    case 'second':
      return BigInt(
        Math.ceil((usage.video_seconds ?? request.seconds ?? 0) * unitCredits(rule, usage.video_resolution ?? request.resolution)),
      );
    case 'image':
      return BigInt(
        Math.ceil((usage.image_count ?? request.n ?? 1) * unitCredits(rule, usage.image_quality ?? request.quality, usage.image_size ?? request.size)),
      );
    case 'track':
      return BigInt(Math.ceil((usage.generations ?? 1) * unitCredits(rule)));
    default:
      return 0n;
  }
}

/**
 * The upstream cost of a task (M11): the channel's cost rule for the model priced on the same request and usage facts
 * as the charge, with the same rounding. Null when there is no rule, or it does not price this variant or unit.
 */
export function costFor(model: CatalogModel, rule: PriceRule | null | undefined, request: PricedRequest, usage: UsageFacts | undefined): bigint | null {
  if (!rule || rule.unit !== model.pricing.unit) return null;
  try {
    return chargeFor({ ...model, pricing: rule }, request, usage);
  } catch {
    return null;
  }
}

/** The upstream cost of a text request (M11) at the channel's per-million token costs, null without a token rule. */
export function tokenCostFor(model: CatalogModel, rule: PriceRule | null | undefined, usage: { tokens_in: number; tokens_out: number; tokens_reasoning?: number }): bigint | null {
  if (!rule || rule.unit !== 'token') return null;
  return tokenCost({ ...model, pricing: rule }, usage);
}

/**
 * Token prices (M1): credits per million tokens, rounded up. Reasoning tokens are billed at the output price, once
 * (PROVIDERS §12).
 */
export function tokenCost(model: CatalogModel, usage: { tokens_in: number; tokens_out: number; tokens_reasoning?: number }): bigint {
  const input = BigInt(model.pricing.input_credits_per_million ?? 0);
  const output = BigInt(model.pricing.output_credits_per_million ?? 0);
  const micro = BigInt(usage.tokens_in) * input + BigInt(usage.tokens_out + (usage.tokens_reasoning ?? 0)) * output;
  return (micro + 999_999n) / 1_000_000n;
}

/**
 * The hold of a text request (M1): an upper bound of the prompt's tokens (one per byte of the UTF-8 body text, which
 * no tokenizer exceeds) plus the requested output limit, or the model's output limit, at the model's prices.
 */
export function textHold(model: CatalogModel, promptBytes: number, maxOutputTokens: number | null): bigint {
  const limit = model.capabilities.max_output_tokens ?? 0;
  const output = model.type === 'embedding' ? 0 : Math.min(maxOutputTokens ?? limit, limit || Number.MAX_SAFE_INTEGER);
  return tokenCost(model, { tokens_in: promptBytes, tokens_out: output });
}

/** The price list entry published in `/v1/models` and `/models`. */
export function publicPricing(model: CatalogModel): Record<string, unknown> {
  const { unit, credits, credits_by, input_credits_per_million, output_credits_per_million } = model.pricing;
  return {
    unit,
    ...(credits !== undefined ? { credits } : {}),
    ...(credits_by ? { credits_by } : {}),
    ...(input_credits_per_million !== undefined ? { input_credits_per_million } : {}),
    ...(output_credits_per_million !== undefined ? { output_credits_per_million } : {}),
    ...(model.list_price ? { list_price: model.list_price } : {}),
  };
}
