import { NavLink, useParams } from 'react-router';
import { PageHeader } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import { ExceptionsTab } from './ExceptionsTab';
import { OrdersTab } from './OrdersTab';
import { TopupSettingsTab } from './TopupSettings';
import type { OperatorList, PaymentException } from './types';

/**
 * Payments (issue 13): every customer's top-up orders with filters (`/payments`), the two queues of payments that were
 * not credited automatically — quarantine (`/payments/quarantine`: Stripe payments that do not fit their order,
 * reversals a wallet could not cover) and unmatched (`/payments/unmatched`: chain transfers no open order accounts
 * for) — resolved by hand, and the top-up limits and bonus tiers (`/payments/settings`).
 */
const TABS = [
  { path: '', label: 'All orders' },
  { path: 'quarantine', label: 'Quarantine' },
  { path: 'unmatched', label: 'Unmatched' },
  { path: 'settings', label: 'Settings' },
] as const;

export function PaymentsPage() {
  const { tab = '' } = useParams();
  const known = TABS.some((candidate) => candidate.path === tab);
  return (
    <>
      <PageHeader title="Payments" description="Top-up orders, the payments waiting for you, and the top-up limits." />
      <nav className="tabs" aria-label="Payments sections">
        {TABS.map((candidate) => (
          <NavLink key={candidate.path} to={candidate.path ? `/payments/${candidate.path}` : '/payments'} end className={({ isActive }) => (isActive ? 'active' : undefined)}>
            {candidate.label}
            {(candidate.path === 'quarantine' || candidate.path === 'unmatched') && <OpenCount queue={candidate.path} />}
          </NavLink>
        ))}
      </nav>
      {!known ? (
        <p className="empty">No such tab.</p>
      ) : tab === 'quarantine' || tab === 'unmatched' ? (
        <ExceptionsTab key={tab} queue={tab} />
      ) : tab === 'settings' ? (
        <TopupSettingsTab />
      ) : (
        <OrdersTab />
      )}
    </>
  );
}

/** How many payments wait in a queue (up to 100; "100+" beyond). */
function OpenCount(props: { queue: 'quarantine' | 'unmatched' }) {
  const query = useApiQuery<OperatorList<PaymentException>>('/admin/payment-exceptions', { queue: props.queue, status: 'open', limit: 100 }, { refetchInterval: 60_000 });
  const count = query.data?.data.length ?? 0;
  if (count === 0) return null;
  return (
    <span className="tab-count" aria-label={`${count} open`}>
      {query.data?.has_more ? '100+' : count}
    </span>
  );
}
