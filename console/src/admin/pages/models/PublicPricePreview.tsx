import { useQuery } from '@tanstack/react-query';
import { Fragment } from 'react';
import { ApiError, type ApiErrorBody } from '../../../shared/api';
import { ErrorState, Loading } from '../../../shared/components';
import { formatNumber, moneyFormatter } from '../../../shared/format';
import type { ListPrice, PublicPriceList } from '../../types';

/**
 * What customers see: `GET /api/pricing` is the public JSON behind the `/models` page (same origin, no auth, not under
 * /admin/api, so it is fetched directly rather than through the console's api client). Enabled models only, at the
 * price in force, with the `default` group's percent applied.
 */
export async function loadPricing(signal: AbortSignal): Promise<PublicPriceList> {
  let response: Response;
  try {
    response = await fetch('/api/pricing', { headers: { accept: 'application/json' }, credentials: 'omit', signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, null);
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body as ApiErrorBody | null, response.headers);
  return body as PublicPriceList;
}

export function PublicPricePreview() {
  const pricing = useQuery({ queryKey: ['public-pricing'], queryFn: ({ signal }) => loadPricing(signal), staleTime: 0 });
  if (pricing.isPending) return <Loading label="Loading the public price list…" />;
  if (pricing.isError) return <ErrorState error={pricing.error} retry={() => void pricing.refetch()} />;
  const list = pricing.data;
  if (list.data.length === 0) return <p className="empty">No model is on the public price list (no enabled model has a price).</p>;
  // One rule for every amount of the table: 2 decimals, more only when some price needs them (sub-cent prices).
  const lines = list.data.flatMap((model) => model.prices);
  const money = moneyFormatter([...lines.map((line) => line.amount), ...lines.map((line) => line.list_price?.amount)]);
  const listPrice = (price: ListPrice) => (price.currency === list.currency ? money(price.amount) : `${money(price.amount)} ${price.currency}`);
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Public price list</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Variant</th>
            <th scope="col" className="num">
              Credits
            </th>
            <th scope="col" className="num">
              Price ({list.currency})
            </th>
            <th scope="col" className="num">
              List price ({list.currency})
            </th>
            <th scope="col" className="num">
              Below list
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data.map((model) => (
            <Fragment key={model.id}>
              {model.prices.map((line, index) => (
                <tr key={`${model.id}-${line.variant ?? 'flat'}`}>
                  {index === 0 && (
                    <th scope="rowgroup" rowSpan={model.prices.length} className="wrap row-head">
                      {model.name}
                      <div className="muted small mono">{model.id}</div>
                      <div className="muted small">{model.type}</div>
                    </th>
                  )}
                  <td>{line.variant ?? 'flat'}</td>
                  <td className="num">
                    {formatNumber(line.credits)} <span className="muted small">/ {line.unit}</span>
                  </td>
                  <td className="num">{money(line.amount)}</td>
                  <td className="num">{line.list_price ? listPrice(line.list_price) : '—'}</td>
                  <td className="num">{line.discount_percent === null ? '—' : `${line.discount_percent} %`}</td>
                </tr>
              ))}
            </Fragment>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        {formatNumber(list.credits_per_currency_unit)} credits = 1 {list.currency}. Prices of the <code>default</code> group.
      </p>
    </div>
  );
}
