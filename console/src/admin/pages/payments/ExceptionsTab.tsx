import { keepPreviousData } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { Badge, DataTable, ErrorState, FilterBar, Id, Loading, Notice, Pager, Section, TimeAgo, usePager, type Column, type FilterField, type Tone } from '../../../shared/components';
import { formatCredits, formatDateTime } from '../../../shared/format';
import { useUrlFilters } from '../../../shared/hooks';
import { useApiQuery } from '../../../shared/query';
import { formatMoney, methodLabel } from '../../../shared/payments';
import { CanWrite } from '../../session';
import { usePriceCurrency } from './currency';
import { ACTION_LABELS, ResolveDialog, type Pricing, type ResolveAction } from './ResolveDialog';
import type { ExceptionQueue, OperatorList, PaymentException, ResolveResult, TopupSettings } from './types';

/**
 * One queue of payments that were not credited automatically (`GET /admin/api/admin/payment-exceptions?queue&status`),
 * open ones by default: what kind of problem, the amount, the payment's reference, the details the watcher or the
 * webhook recorded, and the resolve actions.
 */
const KIND_LABELS: Record<string, string> = {
  late: 'Paid after its order’s window closed',
  wrong_amount: 'Amount fits no open order on this address',
  unknown: 'No order for this address and amount',
  already_paid: 'Its order was already paid',
  not_creditable: 'Could not be credited',
  amount_mismatch: 'Paid amount differs from the order',
  currency_mismatch: 'Paid currency differs from the order',
  session_mismatch: 'Checkout Session does not match its order',
  unknown_order: 'Names no known order',
  order_already_paid: 'Its order was already paid',
  order_not_creditable: 'Its order cannot be credited',
  reversal_shortfall: 'Refund or dispute the wallet could not cover',
};

const QUEUE_TEXT: Record<ExceptionQueue, { title: string; about: string }> = {
  quarantine: {
    title: 'Quarantine',
    about: 'Card payments that do not fit their order (amount, currency, session) and refunds or disputes a wallet could not cover. Never credited automatically.',
  },
  unmatched: {
    title: 'Unmatched transfers',
    about: 'USDT transfers to a watched address that no open order accounts for: late, a wrong amount, a second payment, or unknown. Never credited automatically.',
  },
};

const STATUS_TONES: Record<string, Tone> = { open: 'bad', credited: 'ok', refunded: 'warn', dismissed: 'neutral' };
const STATUSES = ['open', 'credited', 'refunded', 'dismissed', 'all'] as const;
const KEYS = ['status'] as const;
const PAGE_SIZE = 25;
/** Details shown in this order; anything else the record has follows. */
const DETAIL_ORDER = ['to', 'from', 'network', 'chain', 'block_number', 'block_time', 'candidate_orders', 'order_amount', 'order_currency', 'payment_status', 'reason', 'source'];
const HIDDEN_DETAILS = new Set(['txid', 'log_index', 'amount']);

export function ExceptionsTab(props: { queue: ExceptionQueue }) {
  const { queue } = props;
  const filters = useUrlFilters(KEYS);
  const status = filters.values.status || 'open';
  const pager = usePager(`${queue}:${status}`);
  const list = useApiQuery<OperatorList<PaymentException>>(
    '/admin/payment-exceptions',
    { queue, status: status === 'all' ? undefined : status, limit: PAGE_SIZE, after: pager.after },
    { placeholderData: keepPreviousData },
  );
  const currency = usePriceCurrency();
  const settings = useApiQuery<TopupSettings>('/admin/settings');
  const pricing: Pricing | null = currency.data && settings.data
    ? { currency: currency.data.currency, creditsPerUnit: currency.data.credits_per_currency_unit, tiers: settings.data.topup_bonus_tiers ?? [] }
    : null;
  const [resolving, setResolving] = useState<{ exception: PaymentException; action: ResolveAction } | null>(null);
  const [result, setResult] = useState<ResolveResult | null>(null);

  const fields: FilterField<'status'>[] = [{ key: 'status', label: 'Status', kind: 'select', options: [...STATUSES], anyLabel: null }];

  const columns: Column<PaymentException>[] = [
    {
      key: 'received',
      header: 'Received',
      className: 'nowrap',
      render: (row) => (
        <>
          <TimeAgo value={row.created_at} />
          <div className="muted small">
            <Id value={row.id} />
          </div>
        </>
      ),
    },
    {
      key: 'kind',
      header: 'Kind',
      className: 'wrap',
      render: (row) => (
        <>
          <strong>{KIND_LABELS[row.kind] ?? row.kind}</strong>
          <div className="muted small">
            <code>{row.kind}</code> · {methodLabel(row.method)}
          </div>
        </>
      ),
    },
    { key: 'amount', header: 'Amount', className: 'num', render: (row) => <span className="nowrap">{formatMoney(row.amount, row.currency)}</span> },
    {
      key: 'reference',
      header: 'Reference',
      className: 'wrap',
      render: (row) => (
        <>
          <code className="mono wrap-anywhere">{row.reference.id}</code>
          <div className="muted small">{row.reference.type}</div>
        </>
      ),
    },
    { key: 'details', header: 'Details', className: 'wrap', render: (row) => <ExceptionDetails row={row} /> },
    { key: 'status', header: 'Status', className: 'wrap', render: (row) => <Resolution row={row} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (row) =>
        row.status === 'open' ? (
          <CanWrite>
            <div className="actions exception-actions">
              {(['credit', 'refunded', 'dismissed'] as const).map((action) => (
                <button
                  key={action}
                  type="button"
                  className={action === 'credit' ? 'button button-small button-primary' : 'button button-small'}
                  aria-label={`${ACTION_LABELS[action]}: ${row.id}`}
                  onClick={() => {
                    setResult(null);
                    setResolving({ exception: row, action });
                  }}
                >
                  {action === 'credit' ? 'Credit…' : action === 'refunded' ? 'Refunded…' : 'Dismiss…'}
                </button>
              ))}
            </div>
          </CanWrite>
        ) : null,
    },
  ];

  return (
    <>
      <Section title={QUEUE_TEXT[queue].title}>
        <p className="muted">{QUEUE_TEXT[queue].about}</p>
        <FilterBar key={filters.key} label={`${QUEUE_TEXT[queue].title} filters`} fields={fields} values={filters.values} error={list.error} onApply={filters.apply} applyLabel="Show" />
      </Section>
      {result && <ResultNotice result={result} />}
      <Section title={status === 'all' ? 'Every payment in this queue' : `${status[0]!.toUpperCase()}${status.slice(1)} payments`}>
        {list.isPending ? (
          <Loading label="Loading the queue…" />
        ) : list.isError ? (
          <ErrorState error={list.error} retry={() => void list.refetch()} />
        ) : (
          <>
            {list.isPlaceholderData && <Loading inline label="Updating…" />}
            <DataTable
              columns={columns}
              rows={list.data.data}
              rowKey={(row) => row.id}
              caption={`${QUEUE_TEXT[queue].title} queue`}
              captionHidden
              empty={status === 'open' ? 'Nothing waits here: every payment was matched.' : 'No payment here has this status.'}
            />
            <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Queue pages" />
          </>
        )}
      </Section>
      {resolving && (
        <ResolveDialog
          key={`${resolving.exception.id}:${resolving.action}`}
          exception={resolving.exception}
          action={resolving.action}
          pricing={pricing}
          onClose={() => setResolving(null)}
          onResolved={(resolved) => {
            setResolving(null);
            setResult(resolved);
          }}
        />
      )}
    </>
  );
}

function detailValue(value: unknown): ReactNode {
  if (Array.isArray(value)) return value.map((item, index) => <div key={index}>{detailValue(item)}</div>);
  if (typeof value === 'string' && /^top_[0-9A-Za-z]{22}$/.test(value)) return <Id value={value} to={`/payments/orders/${value}`} />;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return formatDateTime(value);
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string' && /^[0-9A-Za-z]{25,}$/.test(value)) return <code className="mono">{value}</code>;
  return typeof value === 'object' ? <code className="mono">{JSON.stringify(value)}</code> : String(value);
}

function ExceptionDetails(props: { row: PaymentException }) {
  const { row } = props;
  const keys = Object.keys(row.details).filter((key) => !HIDDEN_DETAILS.has(key));
  keys.sort((a, b) => (DETAIL_ORDER.indexOf(a) + 1 || 99) - (DETAIL_ORDER.indexOf(b) + 1 || 99));
  return (
    <>
      {(row.order_id || row.customer_id) && (
        <div className="small">
          {row.order_id && (
            <>
              Order <Id value={row.order_id} to={`/payments/orders/${row.order_id}`} />{' '}
            </>
          )}
          {row.customer_id && (
            <>
              Customer <Id value={row.customer_id} to={`/customers/${row.customer_id}`} />
            </>
          )}
        </div>
      )}
      {keys.length > 0 && (
        <dl className="exception-details">
          {keys.map((key) => (
            <div key={key}>
              <dt>{key.replace(/_/g, ' ')}</dt>
              <dd>
                {key === 'order_amount' && typeof row.details.order_currency === 'string'
                  ? formatMoney(row.details[key] as number, row.details.order_currency)
                  : detailValue(row.details[key])}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </>
  );
}

function Resolution(props: { row: PaymentException }) {
  const { row } = props;
  const resolution = row.resolution;
  return (
    <>
      <Badge tone={STATUS_TONES[row.status] ?? 'neutral'}>{row.status}</Badge>
      {resolution && (
        <div className="small">
          {row.status === 'credited' && resolution.customer_id && (
            <div>
              {formatCredits(Number(resolution.credits))} to <Id value={resolution.customer_id} to={`/customers/${resolution.customer_id}`} />
            </div>
          )}
          {resolution.note && <div className="muted">“{resolution.note}”</div>}
          {row.resolved_by && (
            <div className="muted">
              {row.resolved_by}, <TimeAgo value={row.resolved_at} />
            </div>
          )}
        </div>
      )}
    </>
  );
}

function ResultNotice(props: { result: ResolveResult }) {
  const { result } = props;
  if (result.status === 'credited') {
    return (
      <Notice tone="ok">
        Credited {formatCredits(Number(result.resolution?.credits ?? result.order?.credits ?? 0))} to{' '}
        {result.resolution?.customer_id ? <Link to={`/customers/${result.resolution.customer_id}`}>{result.resolution.customer_id}</Link> : 'the customer'}
        {result.order && (
          <>
            {' '}
            (order <Link to={`/payments/orders/${result.order.id}`}>{result.order.id}</Link>)
          </>
        )}
        .
      </Notice>
    );
  }
  return <Notice tone="ok">{result.status === 'refunded' ? 'Marked refunded.' : 'Dismissed.'} Nothing was credited.</Notice>;
}
