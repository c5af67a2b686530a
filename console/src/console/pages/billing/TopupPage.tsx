import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, type ReactNode } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { Details, DateTime, ErrorState, Id, Loading, Notice, PageHeader, Section } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { pathKey, useApiQuery } from '../../../shared/query';
import { TopupStatusBadge, formatMoney, methodLabel } from '../../../shared/payments';
import type { ConsoleTopup } from './types';
import { UsdtPayment } from './UsdtPayment';

/**
 * One top-up order (`GET /console/api/billing/topups/:id`), the page Stripe sends the payer back to
 * (`?checkout=success|cancelled`) and the page a USDT payer pays from. While the order is open it is read again every
 * few seconds, so its status (`pending` → `confirming n/N` → `paid`) updates by itself; once paid, the wallet's
 * balance and ledger are refreshed.
 */
const OPEN = new Set(['pending', 'confirming']);
/** How often an open order is read again. */
export const ORDER_POLL_MS = 3000;

export function TopupPage() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const checkout = params.get('checkout');
  const client = useQueryClient();
  const query = useApiQuery<ConsoleTopup>(`/billing/topups/${encodeURIComponent(id)}`, undefined, {
    refetchInterval: (state) => (state.state.data && OPEN.has(state.state.data.status) ? ORDER_POLL_MS : false),
    refetchIntervalInBackground: true,
    staleTime: 0,
  });
  const status = query.data?.status;

  // The order just turned paid (or was refunded) while the page was open: the balance and the ledger changed too.
  const previous = useRef(status);
  useEffect(() => {
    if (previous.current && previous.current !== status && (status === 'paid' || status === 'refunded')) {
      for (const path of ['/overview', '/billing/ledger', '/billing/topups']) void client.invalidateQueries({ queryKey: pathKey(path) });
    }
    previous.current = status;
  }, [status, client]);

  const order = query.data;
  const title = order ? (order.method === 'stripe' ? 'Card top-up' : 'USDT top-up') : 'Top-up';
  return (
    <>
      <PageHeader
        title={title}
        back={<Link to="/billing">← Billing</Link>}
        description={order ? <>Order <Id value={order.id} full /></> : undefined}
        actions={order && (order.status === 'paid' || order.status === 'refunded') ? <Link className="button" to={`/billing/topups/${encodeURIComponent(order.id)}/receipt`}>View the receipt</Link> : undefined}
      />
      {query.isPending ? (
        <Loading label="Loading the order…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      ) : (
        <div className="stack">
          {order!.method === 'stripe' ? <CardState order={order!} checkout={checkout} /> : <UsdtState order={order!} />}
          <OrderSummary order={order!} />
        </div>
      )}
    </>
  );
}

function Paid(props: { order: ConsoleTopup }) {
  const { order } = props;
  return (
    <Notice tone="ok">
      <strong>Payment received: {formatCredits(order.credits)} credited to your live wallet.</strong>{' '}
      <Link to="/">See your balance</Link> · <Link to={`/billing/topups/${encodeURIComponent(order.id)}/receipt`}>Receipt</Link>
    </Notice>
  );
}

function Closed(props: { order: ConsoleTopup }) {
  const { order } = props;
  if (order.status === 'refunded') {
    return <Notice tone="warn">This top-up was refunded{order.refunded_amount ? ` (${formatMoney(order.refunded_amount, order.currency)})` : ''}; its credits were taken back from your wallet.</Notice>;
  }
  if (order.status === 'expired') {
    return order.method === 'stripe' ? (
      <Notice tone="warn">This checkout expired before it was paid. Nothing was charged. <Link to="/billing">Start a new top-up</Link>.</Notice>
    ) : (
      <Notice tone="warn">
        This order expired: its payment window closed before a transfer arrived. Do not send to it any more. A transfer made
        before the window closed is still credited once it is final; one made later is credited by the operator by hand: tell
        them its transaction id. <Link to="/billing">Start a new top-up</Link>.
      </Notice>
    );
  }
  return (
    <Notice tone="warn">
      This order failed{order.failure_reason ? ` (${order.failure_reason.replace(/_/g, ' ')})` : ''}. Nothing was credited. <Link to="/billing">Start a new top-up</Link>.
    </Notice>
  );
}

/** Card: after Stripe's checkout page (`?checkout=success|cancelled`), or opened from the order list. */
function CardState(props: { order: ConsoleTopup; checkout: string | null }) {
  const { order, checkout } = props;
  if (order.status === 'paid') return <Paid order={order} />;
  if (!OPEN.has(order.status)) return <Closed order={order} />;
  if (checkout === 'success') {
    return (
      <Section title="Payment received">
        <div className="stack">
          <Notice tone="ok">Thank you: your card payment was received. Your credits arrive as soon as the card processor confirms it.</Notice>
          <div className="row">
            <Loading inline label="Waiting for the card processor's confirmation… this page updates by itself." />
          </div>
        </div>
      </Section>
    );
  }
  return (
    <Section title={checkout === 'cancelled' ? 'Payment cancelled' : 'Waiting for payment'}>
      <div className="stack">
        {checkout === 'cancelled' ? (
          <Notice tone="warn">You cancelled the card payment. Nothing was charged.</Notice>
        ) : (
          <p>This order has not been paid yet.</p>
        )}
        <div className="actions actions-start">
          {order.checkout_url && (
            <a className="button button-primary" href={order.checkout_url}>
              {checkout === 'cancelled' ? 'Return to the checkout' : 'Continue to the checkout'}
            </a>
          )}
          <Link className="button" to="/billing">
            Back to billing
          </Link>
        </div>
        <p className="muted small">
          The checkout stays open until <DateTime value={order.expires_at} />.
        </p>
      </div>
    </Section>
  );
}

function UsdtState(props: { order: ConsoleTopup }) {
  const { order } = props;
  if (order.status === 'paid') return <Paid order={order} />;
  if (!OPEN.has(order.status)) return <Closed order={order} />;
  return <UsdtPayment order={order} />;
}

function OrderSummary(props: { order: ConsoleTopup }) {
  const { order } = props;
  return (
    <Section title="Order">
      <Details
        items={[
          ['Status', <TopupStatusBadge key="status" status={order.status} confirmations={order.confirmations} />],
          ['Method', methodLabel(order.method, order.pay_to?.network)],
          ['Amount', formatMoney(order.amount, order.currency)],
          [
            'Credits',
            <span key="credits">
              {formatCredits(order.credits)}
              {order.bonus_credits > 0 && <span className="muted"> (including {formatCredits(order.bonus_credits)} bonus)</span>}
            </span>,
          ],
          ['Created', <DateTime key="created" value={order.created_at} />],
          ...(OPEN.has(order.status) || order.status === 'expired'
            ? ([[order.status === 'expired' ? 'Expired' : 'Pay before', <DateTime key="expires" value={order.expires_at} />]] as [ReactNode, ReactNode][])
            : []),
          ...(order.paid_at ? ([['Paid', <DateTime key="paid" value={order.paid_at} />]] as [ReactNode, ReactNode][]) : []),
        ]}
      />
    </Section>
  );
}
