import { Link, useParams } from 'react-router';
import { DateTime, ErrorState, Loading, Notice, PageHeader } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { useApiQuery } from '../../../shared/query';
import { formatMoney, methodLabel } from '../../../shared/payments';
import type { ConsoleTopup } from './types';

/**
 * The receipt of a paid top-up (`/billing/topups/:id/receipt`, from the order's `receipt` fields): number, date,
 * customer, method, amount and currency, credits, the payment's reference. "Print" uses the browser's print dialog
 * (also "Save as PDF"); the print stylesheet (shared/payments.css) leaves only the receipt on the page.
 */
export function ReceiptPage() {
  const { id = '' } = useParams();
  const query = useApiQuery<ConsoleTopup>(`/billing/topups/${encodeURIComponent(id)}`);
  const order = query.data;
  const back = <Link to={`/billing/topups/${encodeURIComponent(id)}`}>← The order</Link>;

  if (query.isPending) return <Loading label="Loading the receipt…" />;
  if (query.isError) {
    return (
      <>
        <PageHeader title="Receipt" back={<Link to="/billing">← Billing</Link>} />
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      </>
    );
  }
  if (!order!.receipt) {
    return (
      <>
        <PageHeader title="Receipt" back={back} />
        <Notice tone="info">There is no receipt for this order: it has not been paid.</Notice>
      </>
    );
  }
  const receipt = order!.receipt;
  return (
    <>
      <div className="no-print">
        <PageHeader
          title="Receipt"
          back={back}
          actions={
            <button type="button" className="button button-primary" onClick={() => window.print()}>
              Print
            </button>
          }
        />
      </div>
      <article className="receipt" aria-labelledby="receipt-title">
        <header className="receipt-head">
          <div>
            <h2 id="receipt-title">Receipt</h2>
            <p className="muted">Credit top-up</p>
          </div>
          <dl className="receipt-meta">
            <div>
              <dt>Receipt number</dt>
              <dd className="mono">{receipt.number}</dd>
            </div>
            <div>
              <dt>Date paid</dt>
              <dd>
                <DateTime value={order!.paid_at ?? order!.created_at} />
              </dd>
            </div>
          </dl>
        </header>
        <section className="receipt-party" aria-label="Billed to">
          <h3>Billed to</h3>
          {receipt.customer.name && <div>{receipt.customer.name}</div>}
          {receipt.customer.email && <div>{receipt.customer.email}</div>}
          <div className="muted small">
            Customer <span className="mono">{receipt.customer.id}</span>
          </div>
        </section>
        <table className="receipt-lines">
          <caption className="visually-hidden">What was paid</caption>
          <thead>
            <tr>
              <th scope="col">Description</th>
              <th scope="col">Payment method</th>
              <th scope="col" className="num">
                Amount ({order!.currency})
              </th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>
                Top-up of {formatCredits(order!.credits)}
                {order!.bonus_credits > 0 && <span className="muted"> (including {formatCredits(order!.bonus_credits)} bonus)</span>}
              </td>
              <td>{methodLabel(order!.method, order!.pay_to?.network)}</td>
              <td className="num">{formatMoney(order!.amount, order!.currency)}</td>
            </tr>
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={2}>
                Total paid
              </th>
              <td className="num">
                <strong>{formatMoney(order!.amount, order!.currency)}</strong>
              </td>
            </tr>
            {order!.status === 'refunded' && (
              <tr>
                <th scope="row" colSpan={2}>
                  Refunded
                </th>
                <td className="num">{formatMoney(order!.refunded_amount, order!.currency)}</td>
              </tr>
            )}
          </tfoot>
        </table>
        <dl className="receipt-details">
          <div>
            <dt>Credits</dt>
            <dd>{formatCredits(order!.credits)}</dd>
          </div>
          {order!.pay_to && (
            <div>
              <dt>Paid in</dt>
              <dd>
                {order!.pay_to.amount} USDT to <span className="mono wrap-anywhere">{order!.pay_to.address}</span>
              </dd>
            </div>
          )}
          <div>
            <dt>Payment reference</dt>
            <dd className="mono wrap-anywhere">{receipt.payment_ref ?? '—'}</dd>
          </div>
          <div>
            <dt>Order</dt>
            <dd className="mono">{order!.id}</dd>
          </div>
        </dl>
      </article>
    </>
  );
}
