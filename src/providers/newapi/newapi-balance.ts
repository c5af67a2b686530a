import { upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import type { BalanceReading, ProviderContext } from '../spec.js';
import { asObject } from './newapi-api-types.js';

/**
 * The remaining balance of a new-api / one-api key (PROVIDERS §8.1): those gateways answer the OpenAI-style billing
 * reads to API keys (their `/v1/dashboard/billing/*` compatibility routes, token authentication):
 *
 * - `GET {base}/dashboard/billing/subscription` → `{hard_limit_usd, …}`: the key's total quota in USD (used plus
 *   remaining; a huge figure for an unlimited key);
 * - `GET {base}/dashboard/billing/usage?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD` → `{total_usage}`: what the key
 *   has used, in US cents.
 *
 * remaining = hard_limit_usd − total_usage / 100 (USD). new-api and one-api ignore the dates and answer the key's
 * whole usage; the range sent is all time up to tomorrow (UTC, the end is exclusive in OpenAI's original contract),
 * so an upstream that does honour it agrees with the all-time hard limit. A failed call (network, non-2xx, an error
 * body) throws, so the engine keeps the last reading (workflows/account-balance.ts); a 2xx without the figures
 * answers null (no usable reading).
 */
export const BALANCE_SUBSCRIPTION_PATH = '/dashboard/billing/subscription';
export const BALANCE_USAGE_PATH = '/dashboard/billing/usage';
const USAGE_FROM = '1970-01-01';

function url(context: ProviderContext, path: string): string {
  return `${(context.baseUrl ?? '').replace(/\/+$/, '')}${path}`;
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function finite(value: unknown): number | null {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}

/** The body of a 2xx billing answer; anything else is a failed read (thrown, never a figure). */
function body(response: UpstreamResponse, label: string): Record<string, unknown> {
  const json = asObject(response.json);
  if (response.status < 200 || response.status >= 300 || !json || json.error !== undefined) {
    const message = asObject(json?.error)?.message ?? json?.message ?? response.text.slice(0, 200);
    throw new Error(`${label}: HTTP ${response.status}${message ? ` ${String(message)}` : ''}`);
  }
  return json;
}

export async function readBillingBalance(context: ProviderContext, timeoutMs: number): Promise<BalanceReading | null> {
  if (!context.baseUrl || !context.credential) throw new Error('billing balance: the channel has no base URL or the account no key');
  const headers = { authorization: `Bearer ${context.credential}`, accept: 'application/json' };
  const call = (path: string) => upstreamRequest({ method: 'GET', url: url(context, path), headers, timeoutMs, ...(context.signal ? { signal: context.signal } : {}) });
  const subscription = body(await call(BALANCE_SUBSCRIPTION_PATH), 'billing subscription');
  const limit = finite(subscription.hard_limit_usd);
  if (limit === null) return null;
  const tomorrow = new Date(context.clock.now().getTime() + 86_400_000);
  const usage = body(await call(`${BALANCE_USAGE_PATH}?start_date=${USAGE_FROM}&end_date=${day(tomorrow)}`), 'billing usage');
  const cents = finite(usage.total_usage);
  if (cents === null) return null;
  // Dollars to six places: the float difference of two decimal figures, without binary noise (0.1 + 0.2).
  const amount = Math.round((limit - cents / 100) * 1e6) / 1e6;
  return { amount, currency: 'USD' };
}
