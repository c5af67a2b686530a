import { useQuery } from '@tanstack/react-query';
import { ApiError, type ApiErrorBody } from '../../../shared/api';
import type { PriceCurrency } from './types';

/**
 * The price currency and CREDITS_PER_CURRENCY_UNIT, for typing top-up limits in major units and explaining what a
 * payment buys. They are the public price list's header (`GET /api/pricing`: same origin, no auth, not under
 * /admin/api, so fetched directly, as the models page's public preview does).
 */
async function loadPriceCurrency(signal: AbortSignal): Promise<PriceCurrency> {
  let response: Response;
  try {
    response = await fetch('/api/pricing', { headers: { accept: 'application/json' }, credentials: 'omit', signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, null);
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body as ApiErrorBody | null, response.headers);
  const list = body as PriceCurrency;
  return { currency: list.currency, credits_per_currency_unit: list.credits_per_currency_unit };
}

export function usePriceCurrency() {
  return useQuery({ queryKey: ['public-pricing', 'currency'], queryFn: ({ signal }) => loadPriceCurrency(signal), staleTime: 300_000 });
}
