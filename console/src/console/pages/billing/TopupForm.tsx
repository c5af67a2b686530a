import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { Empty, ErrorState, Field, FormError, Loading, fieldError } from '../../../shared/components';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import { describeTiers, formatMoney, methodLabel, minorToDecimal, parseMajor, quoteCredits, type TopupMethod } from '../../../shared/payments';
import { formatCredits } from '../../../shared/format';
import type { ConsoleTopup, TopupOptions } from './types';

/**
 * Buying credits (`GET /console/api/billing/topup-options`, `POST /console/api/billing/topups`): a method among the
 * enabled ones, an amount in the currency's major units (sent in minor units), and what it buys, bonus tier included,
 * before anything is ordered. Card → the browser goes to Stripe's checkout page; USDT → the order's payment page.
 */
export function TopupPanel() {
  const options = useApiQuery<TopupOptions>('/billing/topup-options');
  if (options.isPending) return <Loading label="Loading payment options…" />;
  if (options.isError) return <ErrorState error={options.error} retry={() => void options.refetch()} />;
  if (options.data.methods.length === 0) {
    return (
      <Empty>
        The operator has not enabled top-ups. Ask them to credit your live wallet; every grant shows in the ledger below.
      </Empty>
    );
  }
  return <TopupForm options={options.data} />;
}

const METHOD_HINTS: Record<TopupMethod, string> = {
  stripe: 'Pay by card on Stripe’s checkout page; you come back here afterwards.',
  usdt_tron: 'Send USDT from any wallet or exchange on the TRON network.',
  usdt_evm: 'Send USDT (ERC-20) from any wallet or exchange, on the network the next page names.',
};

function TopupForm(props: { options: TopupOptions }) {
  const { options } = props;
  const navigate = useNavigate();
  const [method, setMethod] = useState<TopupMethod>(options.methods[0]!);
  const [text, setText] = useState('');
  const [touched, setTouched] = useState(false);
  const [redirecting, setRedirecting] = useState(false);
  const currency = options.currency;

  const create = useApiMutation<{ method: TopupMethod; amount: number }, ConsoleTopup>({
    method: 'POST',
    path: '/billing/topups',
    invalidate: ['/billing/topups'],
    onSuccess: (order) => {
      if (order.method === 'stripe' && order.checkout_url) {
        setRedirecting(true);
        window.location.assign(order.checkout_url);
        return;
      }
      navigate(`/billing/topups/${encodeURIComponent(order.id)}`);
    },
  });

  const parsed = parseMajor(text, currency);
  const amount = 'amount' in parsed ? parsed.amount : null;
  const limitError =
    amount === null ? null
    : amount < options.min_amount ? `The minimum is ${formatMoney(options.min_amount, currency)}.`
    : amount > options.max_amount ? `The maximum is ${formatMoney(options.max_amount, currency)}.`
    : null;
  const localError = 'error' in parsed ? parsed.error : limitError;
  const quote = amount !== null && !limitError ? safeQuote(amount, options) : null;
  const tiers = describeTiers(options.bonus_tiers, currency);
  const windowMinutes = Math.round(options.window_seconds / 60);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (amount === null || localError) return;
    create.mutate({ method, amount });
  };

  const serverAmountError = fieldError(create.error, 'amount');
  const amountError = (touched && localError) || serverAmountError;
  const busy = create.isPending || redirecting;

  return (
    <form className="stack topup-form" onSubmit={submit} noValidate>
      <fieldset className="fieldset">
        <legend>Payment method</legend>
        <div className="topup-methods">
          {options.methods.map((value) => (
            <label key={value} className={`topup-method${method === value ? ' selected' : ''}`}>
              <input type="radio" name="method" value={value} checked={method === value} onChange={() => setMethod(value)} />
              <span>
                <strong>{methodLabel(value, options.networks?.[value])}</strong>
                <span className="muted small topup-method-hint">{METHOD_HINTS[value]}</span>
              </span>
            </label>
          ))}
        </div>
        {fieldError(create.error, 'method') && <div className="field-error">{fieldError(create.error, 'method')}</div>}
      </fieldset>

      <Field
        label={`Amount (${currency})`}
        hint={`From ${formatMoney(options.min_amount, currency)} to ${formatMoney(options.max_amount, currency)}.${tiers ? ` Bonus credits: ${tiers}.` : ''}`}
        error={amountError || null}
        className="topup-amount"
      >
        <input
          name="amount"
          inputMode="decimal"
          autoComplete="off"
          placeholder={minorToDecimal(options.min_amount, currency)}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            if (create.error) create.reset();
          }}
          onBlur={() => text.trim() !== '' && setTouched(true)}
        />
      </Field>

      <p className="topup-quote" aria-live="polite">
        {quote ? (
          <>
            Buys <strong>{formatCredits(quote.credits)}</strong>
            {quote.bonus > 0 && (
              <span className="muted">
                {' '}
                ({formatCredits(quote.base)} + {formatCredits(quote.bonus)} bonus, {quote.bonusPercent} % for {formatMoney(quote.tier!.min_amount, currency)} or more)
              </span>
            )}
            {' '}into your live wallet.
          </>
        ) : (
          <span className="muted">
            {formatCredits(options.credits_per_currency_unit)} per {formatMoney(10 ** currencyDigits(currency), currency)}. Credits go into your live wallet.
          </span>
        )}
      </p>

      {method !== 'stripe' && (
        <p className="muted small">
          You get an address and an exact amount to send, valid for {windowMinutes} minutes. USDT is taken at par with {currency}.
        </p>
      )}

      <FormError error={create.error} fields={['amount', 'method']} />
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? (method === 'stripe' ? 'Opening checkout…' : 'Creating the order…') : method === 'stripe' ? 'Continue to card payment' : 'Get the payment address'}
        </button>
      </div>
    </form>
  );
}

function currencyDigits(currency: string): number {
  return minorToDecimal(1, currency).split('.')[1]?.length ?? 0;
}

function safeQuote(amount: number, options: TopupOptions) {
  const quote = quoteCredits(amount, options.currency, options.credits_per_currency_unit, options.bonus_tiers);
  return quote.base > 0 ? quote : null;
}
