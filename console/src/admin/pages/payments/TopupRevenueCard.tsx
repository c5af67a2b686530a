import { Link } from 'react-router';
import { formatCredits, formatNumber } from '../../../shared/format';
import { formatMoney } from '../../../shared/payments';
import type { DashboardTopups } from './types';

/**
 * The dashboard's top-up tiles (issue 13): money taken in by paid top-ups in the dashboard's window, net of refunds,
 * per currency, with the orders and credits sold; and the payments waiting for the operator in the quarantine and
 * unmatched queues. Rendered by Dashboard.tsx with the dashboard's answer: `<TopupRevenueCard dashboard={data} />`
 * (nothing when the server sends no `topups`).
 */
export function TopupRevenueCard(props: { dashboard: { window: string; topups?: DashboardTopups | null } }) {
  const topups = props.dashboard.topups;
  if (!topups) return null;
  const open = topups.open_exceptions;
  const waiting = open.quarantine + open.unmatched;
  return (
    <div className="cards" role="group" aria-label="Top-ups">
      {topups.revenue.length === 0 ? (
        <div className="card">
          <div className="card-label">Top-up revenue</div>
          <div className="card-value">—</div>
          <div className="card-sub">no paid top-up in this window</div>
        </div>
      ) : (
        topups.revenue.map((row) => (
          <div className="card" key={row.currency}>
            <div className="card-label">Top-up revenue{topups.revenue.length > 1 ? ` (${row.currency.toUpperCase()})` : ''}</div>
            <div className="card-value">{formatMoney(row.amount, row.currency)}</div>
            <div className="card-sub">
              {formatNumber(row.orders)} {row.orders === 1 ? 'order' : 'orders'} · {formatCredits(row.credits)} sold · <Link to="/payments?status=paid">orders</Link>
            </div>
          </div>
        ))
      )}
      <div className="card">
        <div className="card-label">Payments waiting</div>
        <div className="card-value">{formatNumber(waiting)}</div>
        <div className="card-sub">
          <Link to="/payments/quarantine">{formatNumber(open.quarantine)} in quarantine</Link> ·{' '}
          <Link to="/payments/unmatched">{formatNumber(open.unmatched)} unmatched</Link>
        </div>
      </div>
    </div>
  );
}
