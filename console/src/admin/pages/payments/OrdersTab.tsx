import { keepPreviousData } from '@tanstack/react-query';
import { Credits, DataTable, ErrorState, FilterBar, Id, Loading, Pager, Section, TimeAgo, usePager, type Column, type FilterField } from '../../../shared/components';
import { useUrlFilters } from '../../../shared/hooks';
import { useApiQuery } from '../../../shared/query';
import { TOPUP_METHODS, TOPUP_STATUSES, TopupStatusBadge, formatMoney, methodLabel } from '../../../shared/payments';
import type { OperatorList, OperatorTopup } from './types';

/**
 * Every customer's top-up orders (`GET /admin/api/admin/topups`), newest first, filtered by status, method, customer
 * and creation time (`from` inclusive, `to` exclusive); the filters live in the URL.
 */
const KEYS = ['status', 'method', 'customer_id', 'from', 'to'] as const;
type Key = (typeof KEYS)[number];
const PAGE_SIZE = 25;

export function OrdersTab() {
  const filters = useUrlFilters(KEYS);
  const pager = usePager(filters.key);
  const orders = useApiQuery<OperatorList<OperatorTopup>>('/admin/topups', { ...filters.values, limit: PAGE_SIZE, after: pager.after }, { placeholderData: keepPreviousData });

  const fields: FilterField<Key>[] = [
    { key: 'status', label: 'Status', kind: 'select', options: TOPUP_STATUSES },
    { key: 'method', label: 'Method', kind: 'select', options: TOPUP_METHODS.map((method) => ({ value: method, label: methodLabel(method) })) },
    { key: 'customer_id', label: 'Customer id', kind: 'text', placeholder: 'cus_…' },
    { key: 'from', label: 'Created from', kind: 'datetime' },
    { key: 'to', label: 'Created before', kind: 'datetime' },
  ];

  const columns: Column<OperatorTopup>[] = [
    { key: 'id', header: 'Order', className: 'nowrap', render: (row) => <Id value={row.id} to={`/payments/orders/${row.id}`} /> },
    { key: 'customer', header: 'Customer', className: 'nowrap', render: (row) => <Id value={row.customer_id} to={`/customers/${row.customer_id}`} /> },
    { key: 'method', header: 'Method', render: (row) => methodLabel(row.method, row.pay_to?.network) },
    {
      key: 'amount',
      header: 'Amount',
      className: 'num',
      render: (row) => (
        <>
          {formatMoney(row.amount, row.currency)}
          {row.pay_to && <div className="muted small">{row.pay_to.amount} USDT</div>}
        </>
      ),
    },
    { key: 'credits', header: 'Credits', className: 'num', render: (row) => <Credits value={row.credits} /> },
    {
      key: 'status',
      header: 'Status',
      render: (row) => (
        <>
          <TopupStatusBadge status={row.status} confirmations={row.confirmations} />
          {row.failure_reason && <div className="muted small mono">{row.failure_reason}</div>}
        </>
      ),
    },
    { key: 'created', header: 'Created', className: 'nowrap', render: (row) => <TimeAgo value={row.created_at} /> },
    { key: 'paid', header: 'Paid', className: 'nowrap', render: (row) => <TimeAgo value={row.paid_at} /> },
  ];

  return (
    <>
      <Section title="Filters">
        <FilterBar key={filters.key} label="Order filters" fields={fields} values={filters.values} error={orders.error} onApply={filters.apply} />
      </Section>
      <Section title="Orders">
        {orders.isPending ? (
          <Loading label="Loading orders…" />
        ) : orders.isError ? (
          <ErrorState error={orders.error} retry={() => void orders.refetch()} />
        ) : (
          <>
            {orders.isPlaceholderData && <Loading inline label="Updating…" />}
            <DataTable columns={columns} rows={orders.data.data} rowKey={(row) => row.id} caption="Top-up orders" captionHidden empty="No top-up order matches these filters." />
            <Pager pager={pager} hasMore={orders.data.has_more} nextCursor={orders.data.data.at(-1)?.id} label="Order pages" />
          </>
        )}
      </Section>
    </>
  );
}
