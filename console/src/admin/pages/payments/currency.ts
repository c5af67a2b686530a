import { useQuery } from '@tanstack/react-query';
import { loadPricing } from '../models/PublicPricePreview';
import type { PriceCurrency } from './types';

/**
 * The price currency and CREDITS_PER_CURRENCY_UNIT, for typing top-up limits in major units and explaining what a
 * payment buys. They are the public price list's header (`GET /api/pricing`: same origin, no auth, not under
 * /admin/api, read with the models page's public-preview loader).
 */
async function loadPriceCurrency(signal: AbortSignal): Promise<PriceCurrency> {
  const list = await loadPricing(signal);
  return { currency: list.currency, credits_per_currency_unit: list.credits_per_currency_unit };
}

export function usePriceCurrency() {
  return useQuery({ queryKey: ['public-pricing', 'currency'], queryFn: ({ signal }) => loadPriceCurrency(signal), staleTime: 300_000 });
}
