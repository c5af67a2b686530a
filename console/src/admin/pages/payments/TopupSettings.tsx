import { useState, type FormEvent } from 'react';
import { ErrorState, Field, FormError, Loading, Notice, Section } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import { formatMoney, minorToDecimal, parseMajor, quoteCredits, type BonusTier } from '../../../shared/payments';
import { useCanWrite } from '../../session';
import { usePriceCurrency } from './currency';
import type { TopupSettings } from './types';

/**
 * The top-up limits and bonus tiers (`GET/PATCH /admin/api/admin/settings`, audited as `settings.update`): amounts
 * typed in the price currency's major units, sent in minor units. A tier adds its percentage of credits to orders of
 * at least its amount (the highest tier reached applies). Which methods are enabled is configuration (STRIPE_*,
 * USDT_*), not a setting.
 */
const MAX_TIERS = 20;

interface TierDraft {
  key: number;
  min: string;
  percent: string;
}

export function TopupSettingsTab() {
  const settings = useApiQuery<TopupSettings>('/admin/settings');
  const currency = usePriceCurrency();
  if (settings.isPending || currency.isPending) return <Loading label="Loading the top-up settings…" />;
  if (settings.isError) return <ErrorState error={settings.error} retry={() => void settings.refetch()} />;
  if (currency.isError) return <ErrorState error={currency.error} retry={() => void currency.refetch()} />;
  return <SettingsForm settings={settings.data} currency={currency.data.currency} creditsPerUnit={currency.data.credits_per_currency_unit} />;
}

let nextKey = 1;

function SettingsForm(props: { settings: TopupSettings; currency: string; creditsPerUnit: number }) {
  const { settings, currency } = props;
  const canWrite = useCanWrite();
  const [min, setMin] = useState(minorToDecimal(settings.topup_min_amount, currency));
  const [max, setMax] = useState(minorToDecimal(settings.topup_max_amount, currency));
  const [tiers, setTiers] = useState<TierDraft[]>(() =>
    settings.topup_bonus_tiers.map((tier) => ({ key: nextKey++, min: minorToDecimal(tier.min_amount, currency), percent: String(tier.bonus_percent) })),
  );
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  const save = useApiMutation<Pick<TopupSettings, 'topup_min_amount' | 'topup_max_amount' | 'topup_bonus_tiers'>, TopupSettings>({
    method: 'PATCH',
    path: '/admin/settings',
    invalidate: ['/admin/settings'],
    onSuccess: () => setSaved(true),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const found: Record<string, string> = {};
    const minParsed = parseMajor(min, currency);
    const maxParsed = parseMajor(max, currency);
    if ('error' in minParsed) found.min = minParsed.error;
    else if (minParsed.amount < 1) found.min = 'At least the smallest unit.';
    if ('error' in maxParsed) found.max = maxParsed.error;
    if ('amount' in minParsed && 'amount' in maxParsed && maxParsed.amount < minParsed.amount) found.max = 'The maximum must not be below the minimum.';
    const parsedTiers: BonusTier[] = [];
    const seen = new Set<number>();
    tiers.forEach((tier, index) => {
      const amount = parseMajor(tier.min, currency);
      const percent = /^\d{1,3}$/.test(tier.percent.trim()) ? Number(tier.percent.trim()) : Number.NaN;
      if ('error' in amount) found[`tier${index}.min`] = amount.error;
      else if (amount.amount < 1) found[`tier${index}.min`] = 'More than zero.';
      else if (seen.has(amount.amount)) found[`tier${index}.min`] = 'Two tiers start at this amount.';
      if (!(percent >= 0 && percent <= 100)) found[`tier${index}.percent`] = 'A whole percentage, 0 to 100.';
      if ('amount' in amount && percent >= 0 && percent <= 100) {
        seen.add(amount.amount);
        parsedTiers.push({ min_amount: amount.amount, bonus_percent: percent });
      }
    });
    setProblems(found);
    if (Object.keys(found).length > 0 || !('amount' in minParsed) || !('amount' in maxParsed)) return;
    save.mutate({
      topup_min_amount: minParsed.amount,
      topup_max_amount: maxParsed.amount,
      topup_bonus_tiers: parsedTiers.sort((a, b) => a.min_amount - b.min_amount),
    });
  };

  const change = (update: () => void) => {
    update();
    setSaved(false);
  };
  const example = exampleQuote(tiers, currency, props.creditsPerUnit);

  return (
    <Section title="Top-up limits and bonus tiers">
      <form className="stack form-narrow" onSubmit={submit} noValidate>
        <p className="muted no-margin">
          Amounts in {currency}; {formatCredits(props.creditsPerUnit)} per {formatMoney(10 ** digits(currency), currency)} (CREDITS_PER_CURRENCY_UNIT). Which
          methods customers see is configuration: STRIPE_SECRET_KEY for cards, USDT_TRON_ADDRESSES and USDT_EVM_ADDRESSES for USDT.
        </p>
        <div className="grid-2">
          <Field label={`Minimum (${currency})`} error={problems.min ?? null}>
            <input name="topup_min_amount" inputMode="decimal" value={min} disabled={!canWrite} onChange={(event) => change(() => setMin(event.target.value))} />
          </Field>
          <Field label={`Maximum (${currency})`} error={problems.max ?? null}>
            <input name="topup_max_amount" inputMode="decimal" value={max} disabled={!canWrite} onChange={(event) => change(() => setMax(event.target.value))} />
          </Field>
        </div>
        <fieldset className="fieldset">
          <legend>Bonus tiers</legend>
          <div className="stack">
            {tiers.length === 0 && <p className="muted no-margin">No bonus: every top-up buys credits at the base rate.</p>}
            {tiers.map((tier, index) => (
              <div className="tier-row" key={tier.key} role="group" aria-label={`Tier ${index + 1}`}>
                <Field label={`From (${currency})`} error={problems[`tier${index}.min`] ?? null}>
                  <input inputMode="decimal" value={tier.min} disabled={!canWrite} onChange={(event) => change(() => setTiers(tiers.map((item) => (item.key === tier.key ? { ...item, min: event.target.value } : item))))} />
                </Field>
                <Field label="Bonus (%)" error={problems[`tier${index}.percent`] ?? null}>
                  <input inputMode="numeric" value={tier.percent} disabled={!canWrite} onChange={(event) => change(() => setTiers(tiers.map((item) => (item.key === tier.key ? { ...item, percent: event.target.value } : item))))} />
                </Field>
                {canWrite && (
                  <button type="button" className="button" aria-label={`Remove tier ${index + 1}`} onClick={() => change(() => setTiers(tiers.filter((item) => item.key !== tier.key)))}>
                    Remove
                  </button>
                )}
              </div>
            ))}
            {canWrite && tiers.length < MAX_TIERS && (
              <div>
                <button type="button" className="button" onClick={() => change(() => setTiers([...tiers, { key: nextKey++, min: '', percent: '' }]))}>
                  Add a tier
                </button>
              </div>
            )}
            {example && <p className="muted small no-margin">{example}</p>}
          </div>
        </fieldset>
        <FormError error={save.error} />
        {saved && <Notice tone="ok">Saved. New orders use these limits and tiers; open orders keep the credits they were created with.</Notice>}
        {canWrite ? (
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save'}
            </button>
          </div>
        ) : (
          <p className="muted small">Viewers cannot change settings.</p>
        )}
      </form>
    </Section>
  );
}

function digits(currency: string): number {
  return minorToDecimal(1, currency).split('.')[1]?.length ?? 0;
}

/** `For example, 100.00 USD buys 10,000 cr + 1,000 cr bonus.` at the highest tier typed so far. */
function exampleQuote(tiers: TierDraft[], currency: string, creditsPerUnit: number): string | null {
  const parsed = tiers
    .map((tier) => ({ amount: parseMajor(tier.min, currency), percent: Number(tier.percent) }))
    .filter((tier): tier is { amount: { amount: number }; percent: number } => 'amount' in tier.amount && Number.isInteger(tier.percent) && tier.percent > 0 && tier.percent <= 100)
    .map((tier) => ({ min_amount: tier.amount.amount, bonus_percent: tier.percent }));
  const top = parsed.sort((a, b) => b.min_amount - a.min_amount)[0];
  if (!top) return null;
  const quote = quoteCredits(top.min_amount, currency, creditsPerUnit, parsed);
  return `For example, ${formatMoney(top.min_amount, currency)} buys ${formatCredits(quote.base)} + ${formatCredits(quote.bonus)} bonus = ${formatCredits(quote.credits)}.`;
}
