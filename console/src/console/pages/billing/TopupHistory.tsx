import { keepPreviousData } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Credits, DataTable, ErrorState, Id, Loading, Pager, TimeAgo, usePager, type Column } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import { TopupStatusBadge, formatMoney, methodLabel } from '../../../shared/payments';
import type { Topup, TopupList } from './types';

/** The customer's top-up orders (`GET /console/api/billing/topups?limit&after`), newest first, cursor-paged. */
const PAGE_SIZE = 10;

export function TopupHistory() {
  const pager = usePager();
  const query = useApiQuery<TopupList>('/billing/topups', { limit: PAGE_SIZE, after: pager.after }, {
    placeholderData: keepPreviousData,
    // Open orders move by themselves (the card processor, the chain): keep the list current while one is open.
    refetchInterval: (state) => (state.state.data?.data.some((order) => order.status === 'pending' || order.status === 'confirming') ? 10_000 : false),
  });

  const columns: Column<Topup>[] = [
    { key: 'order', header: 'Order', className: 'nowrap', render: (order) => <Id value={order.id} to={`/billing/topups/${encodeURIComponent(order.id)}`} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (order) => <TimeAgo value={order.created_at} /> },
    { key: 'method', header: 'Method', render: (order) => methodLabel(order.method, order.pay_to?.network) },
    { key: 'amount', header: 'Amount', className: 'num', render: (order) => formatMoney(order.amount, order.currency) },
    { key: 'credits', header: 'Credits', className: 'num', render: (order) => <Credits value={order.credits} /> },
    { key: 'status', header: 'Status', render: (order) => <TopupStatusBadge status={order.status} confirmations={order.confirmations} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (order) =>
        order.status === 'paid' || order.status === 'refunded' ? (
          <Link to={`/billing/topups/${encodeURIComponent(order.id)}/receipt`} aria-label={`Receipt of ${order.id}`}>
            Receipt
          </Link>
        ) : order.status === 'pending' || order.status === 'confirming' ? (
          <Link to={`/billing/topups/${encodeURIComponent(order.id)}`} aria-label={`Open ${order.id}`}>
            {order.method === 'stripe' ? 'Open' : 'Pay'}
          </Link>
        ) : null,
    },
  ];

  if (query.isPending) return <Loading label="Loading your top-ups…" />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  return (
    <div aria-busy={query.isFetching && query.isPlaceholderData}>
      <DataTable columns={columns} rows={query.data.data} rowKey={(order) => order.id} caption="Top-up orders" captionHidden empty="No top-ups yet." />
      <Pager pager={pager} hasMore={query.data.has_more} nextCursor={query.data.data.at(-1)?.id} label="Top-up pages" />
    </div>
  );
}
