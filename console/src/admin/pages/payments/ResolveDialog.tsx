import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Field, FormError, Modal, fieldError } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { optionalInt } from '../../../shared/forms';
import { useApiMutation } from '../../../shared/query';
import { currencyExponent, formatMoney, quoteCredits, type BonusTier } from '../../../shared/payments';
import type { PaymentException, ResolveResult } from './types';

/**
 * Resolving a payment exception by hand (`POST /admin/api/admin/payment-exceptions/:id/resolve`, audited): credit it
 * to a customer, mark it refunded (the money went back outside genrelay) or dismiss it. Every action takes a note and
 * is confirmed on a second step that says exactly what will happen.
 */
export type ResolveAction = 'credit' | 'refunded' | 'dismissed';

export const ACTION_LABELS: Record<ResolveAction, string> = { credit: 'Credit to a customer', refunded: 'Mark refunded', dismissed: 'Dismiss' };

export interface Pricing {
  currency: string;
  creditsPerUnit: number;
  tiers: BonusTier[];
}

/** What the payment buys when the operator leaves "credits" empty: the server's rule (workflows/payment-exceptions.ts). */
export function defaultCredits(exception: PaymentException, pricing: Pricing | null): { credits: number; explanation: string } | null {
  if (!pricing || exception.amount === null || !exception.currency) return null;
  const paid = formatMoney(exception.amount, exception.currency);
  if (exception.currency.toUpperCase() === 'USDT') {
    const priceAmount = Math.floor(exception.amount / 10 ** (6 - currencyExponent(pricing.currency)));
    if (priceAmount <= 0) return null;
    const quote = quoteCredits(priceAmount, pricing.currency, pricing.creditsPerUnit, pricing.tiers, BigInt(exception.amount));
    if (quote.base <= 0) return null;
    return { credits: quote.credits, explanation: `${paid} at par with ${pricing.currency}${quote.bonus > 0 ? `, with the ${quote.bonusPercent} % bonus tier` : ''}` };
  }
  if (exception.currency.toUpperCase() !== pricing.currency.toUpperCase()) return null;
  const quote = quoteCredits(exception.amount, pricing.currency, pricing.creditsPerUnit, pricing.tiers);
  if (quote.base <= 0) return null;
  return { credits: quote.credits, explanation: `${paid}${quote.bonus > 0 ? `, with the ${quote.bonusPercent} % bonus tier` : ''}` };
}

interface Body {
  action: ResolveAction;
  customer_id?: string;
  credits?: number;
  note: string;
}

export function ResolveDialog(props: {
  exception: PaymentException;
  action: ResolveAction;
  pricing: Pricing | null;
  onClose: () => void;
  onResolved: (result: ResolveResult) => void;
}) {
  const { exception, action } = props;
  const [customer, setCustomer] = useState(exception.customer_id ?? '');
  const [credits, setCredits] = useState('');
  const [note, setNote] = useState('');
  const [step, setStep] = useState<'form' | 'confirm'>('form');
  const [problem, setProblem] = useState<Record<string, string>>({});
  const fallback = defaultCredits(exception, props.pricing);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (step === 'confirm') confirmRef.current?.focus();
  }, [step]);

  const resolve = useApiMutation<Body, ResolveResult>({
    method: 'POST',
    path: `/admin/payment-exceptions/${encodeURIComponent(exception.id)}/resolve`,
    invalidate: ['/admin/payment-exceptions', '/admin/topups', '/admin/dashboard', '/public/customers'],
    onSuccess: (result) => props.onResolved(result),
  });

  const parsedCredits = optionalInt(credits);
  const body: Body = {
    action,
    note: note.trim(),
    ...(action === 'credit' ? { customer_id: customer.trim() } : {}),
    ...(action === 'credit' && parsedCredits !== null ? { credits: parsedCredits } : {}),
  };
  const creditsToGive = action === 'credit' ? (parsedCredits ?? fallback?.credits ?? null) : null;

  const review = (event: FormEvent) => {
    event.preventDefault();
    const problems: Record<string, string> = {};
    if (action === 'credit') {
      if (!customer.trim()) problems.customer_id = 'Name the customer to credit (cus_…).';
      if (parsedCredits !== null && (!Number.isSafeInteger(parsedCredits) || parsedCredits < 1)) problems.credits = 'A whole number of credits, at least 1.';
      else if (Number.isNaN(parsedCredits)) problems.credits = 'A whole number of credits, at least 1.';
      if (parsedCredits === null && !fallback) problems.credits = 'This payment’s value is not known in the price currency: enter the credits.';
    }
    if (!note.trim()) problems.note = 'Say why (kept in the audit log).';
    else if (note.trim().length > 500) problems.note = 'At most 500 characters.';
    setProblem(problems);
    if (Object.keys(problems).length === 0) {
      resolve.reset();
      setStep('confirm');
    }
  };

  const errorFor = (param: string) => problem[param] ?? fieldError(resolve.error, param);
  const title = `${ACTION_LABELS[action]}: ${formatMoney(exception.amount, exception.currency)}`;

  return (
    <Modal open title={title} onClose={props.onClose}>
      {step === 'form' ? (
        <form className="stack" onSubmit={review} noValidate>
          {action === 'credit' && (
            <>
              <Field label="Customer id" error={errorFor('customer_id')} hint={exception.customer_id ? 'The customer of the order this payment was for.' : 'Nothing links this payment to a customer: ask the payer.'}>
                <input name="customer_id" value={customer} onChange={(event) => setCustomer(event.target.value)} placeholder="cus_…" spellCheck={false} autoComplete="off" data-autofocus={exception.customer_id ? undefined : true} />
              </Field>
              <Field
                label="Credits (optional)"
                error={errorFor('credits')}
                hint={
                  fallback
                    ? `Leave empty to credit ${formatCredits(fallback.credits)}: what the payment is worth (${fallback.explanation}), by the same rule as a top-up.`
                    : 'The payment’s value in the price currency is not known: enter the credits to give.'
                }
              >
                <input name="credits" inputMode="numeric" value={credits} onChange={(event) => setCredits(event.target.value)} placeholder={fallback ? String(fallback.credits) : ''} autoComplete="off" />
              </Field>
            </>
          )}
          {action === 'refunded' && <p className="no-margin">You sent the money back to the payer outside genrelay. Nothing is credited.</p>}
          {action === 'dismissed' && <p className="no-margin">Close this payment without crediting anyone (a test, a duplicate, spam). Nothing is credited.</p>}
          <Field label="Note" error={errorFor('note')} hint="Required. Kept with the resolution and in the audit log.">
            <textarea name="note" rows={3} maxLength={500} value={note} onChange={(event) => setNote(event.target.value)} data-autofocus={action !== 'credit' || exception.customer_id ? true : undefined} />
          </Field>
          <div className="actions">
            <button type="button" className="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" className="button button-primary">
              Review
            </button>
          </div>
        </form>
      ) : (
        <div className="stack">
          <p className="resolve-summary">
            {action === 'credit' ? (
              <>
                Credit <strong>{creditsToGive === null ? '—' : formatCredits(creditsToGive)}</strong> to <code className="mono">{body.customer_id}</code>’s live wallet for this
                payment. A paid order is recorded for them. This cannot be undone here.
              </>
            ) : action === 'refunded' ? (
              <>Mark this payment as refunded. Nothing is credited.</>
            ) : (
              <>Dismiss this payment. Nothing is credited.</>
            )}
          </p>
          <p className="muted small no-margin">Note: {body.note}</p>
          <FormError error={resolve.error} />
          <div className="actions">
            <button type="button" className="button" onClick={() => setStep('form')} disabled={resolve.isPending}>
              Back
            </button>
            <button ref={confirmRef} type="button" className={action === 'credit' ? 'button button-primary' : 'button button-danger'} onClick={() => resolve.mutate(body)} disabled={resolve.isPending}>
              {resolve.isPending ? 'Working…' : action === 'credit' ? `Confirm: credit ${creditsToGive === null ? '' : formatCredits(creditsToGive)}` : `Confirm: ${ACTION_LABELS[action].toLowerCase()}`}
            </button>
          </div>
        </div>
      )}
    </Modal>
  );
}
