import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { Credits, DateTime, Details, ErrorState, Id, Loading, PageHeader, Section } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import { TopupStatusBadge, formatMoney, methodLabel } from '../../../shared/payments';
import type { OperatorTopup } from './types';

/** One top-up order as the operator sees it (`GET /admin/api/admin/topups/:id`): who, what, how it was paid. */
export function TopupOrderPage() {
  const { id = '' } = useParams();
  const query = useApiQuery<OperatorTopup>(`/admin/topups/${encodeURIComponent(id)}`);
  const back = <Link to="/payments">← Payments</Link>;
  if (query.isPending) return <Loading label="Loading the order…" />;
  if (query.isError) {
    return (
      <>
        <PageHeader title="Top-up order" back={back} />
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      </>
    );
  }
  const order = query.data;
  const items: [ReactNode, ReactNode][] = [
    ['Status', <TopupStatusBadge key="status" status={order.status} confirmations={order.confirmations} />],
    ['Customer', <Id key="customer" value={order.customer_id} to={`/customers/${order.customer_id}`} full />],
    ['Method', methodLabel(order.method, order.pay_to?.network)],
    ['Amount', formatMoney(order.amount, order.currency)],
    ['Credits', <span key="credits"><Credits value={order.credits} />{order.bonus_credits > 0 && <span className="muted"> (incl. <Credits value={order.bonus_credits} /> bonus)</span>}</span>],
    ['Created', <DateTime key="created" value={order.created_at} />],
    ['Window ends', <DateTime key="expires" value={order.expires_at} />],
    ['Paid', <DateTime key="paid" value={order.paid_at} />],
    ['Created by', order.created_by ? <code key="by" className="mono">{order.created_by}</code> : '—'],
  ];
  if (order.pay_to) {
    items.push(['Pay to', <span key="address" className="mono wrap-anywhere">{order.pay_to.address}</span>], ['Exact amount', `${order.pay_to.amount} USDT`]);
  }
  if (order.confirmations) items.push(['Confirmations', `${order.confirmations.seen} / ${order.confirmations.required ?? 'not yet known'}`]);
  if (order.stripe_session_id) items.push(['Checkout Session', <code key="session" className="mono wrap-anywhere">{order.stripe_session_id}</code>]);
  if (order.stripe_payment_intent) items.push(['PaymentIntent', <code key="intent" className="mono wrap-anywhere">{order.stripe_payment_intent}</code>]);
  items.push(['Payment reference', order.payment_ref ? <code key="ref" className="mono wrap-anywhere">{order.payment_ref.type} · {order.payment_ref.id}</code> : '—']);
  if (order.refunded_amount > 0 || order.reversed_credits > 0) {
    items.push(['Refunded', formatMoney(order.refunded_amount, order.currency)], ['Credits reversed', <Credits key="reversed" value={order.reversed_credits} />]);
  }
  if (order.failure_reason) items.push(['Failure', <code key="failure" className="mono">{order.failure_reason}</code>]);
  return (
    <>
      <PageHeader title="Top-up order" back={back} description={<Id value={order.id} full />} />
      <Section title="Order">
        <Details items={items} />
      </Section>
    </>
  );
}
