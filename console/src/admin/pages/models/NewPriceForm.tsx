import { useState, type FormEvent } from 'react';
import { isApiError } from '../../../shared/api';
import { Field, FormError, Notice, Section, fieldError } from '../../../shared/components';
import { formatDateTime } from '../../../shared/format';
import { localToIso } from '../../../shared/forms';
import { useApiMutation } from '../../../shared/query';
import type { AdminModel, PriceRule } from '../../types';
import { PricingEditor } from './PricingEditor';
import { useFocusInvalid } from './useFocusInvalid';
import { draftToRule, priceDraft, type DraftError, type PriceDraft } from './pricing';

/**
 * A new price version (`PATCH /admin/models/:id {pricing, effective_at?}`): effective now, or scheduled for a later
 * time. Past versions are never rewritten; tasks keep the version they were reserved under.
 */
export function NewPriceForm(props: { model: AdminModel; path: string }) {
  const { model } = props;
  const [draft, setDraft] = useState<PriceDraft>(() => priceDraft(model.pricing));
  const [when, setWhen] = useState<'now' | 'later'>('now');
  const [at, setAt] = useState('');
  const [localError, setLocalError] = useState<DraftError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const save = useApiMutation<{ pricing: PriceRule; effective_at?: string }, AdminModel>({
    method: 'PATCH',
    path: props.path,
    invalidate: ['/admin/models'],
    onSuccess: (view, vars) =>
      setDone(vars.effective_at ? `Price scheduled for ${formatDateTime(vars.effective_at)}.` : `Price version ${view.price_version ?? ''} is in force now.`),
  });

  const formRef = useFocusInvalid<HTMLFormElement>(localError ?? save.error);
  const errorFor = (param: string) => (localError && (localError.param === param || localError.param.startsWith(`${param}.`)) ? localError.message : fieldError(save.error, param));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    const converted = draftToRule(model.type, draft, 'pricing');
    if (converted.error) return setLocalError(converted.error);
    if (!converted.rule) return setLocalError({ param: 'pricing', message: 'Enter at least one price.' });
    let effectiveAt: string | undefined;
    if (when === 'later') {
      const iso = localToIso(at);
      if (!iso) return setLocalError({ param: 'effective_at', message: 'Pick the date and time the price takes effect.' });
      effectiveAt = iso;
    }
    setLocalError(null);
    save.mutate({ pricing: converted.rule, ...(effectiveAt ? { effective_at: effectiveAt } : {}) });
  };

  const wholeError = localError?.param === 'pricing' ? localError.message : isApiError(save.error) && save.error.param === 'pricing' ? save.error.message : null;

  return (
    <Section title="New price version">
      <form ref={formRef} className="stack" onSubmit={submit} noValidate>
        <p className="muted small">
          Starts from the price in force. Tasks already reserved keep their version; an enabled model needs a price for every variant, in this version too.
        </p>
        <PricingEditor type={model.type} capabilities={model.capabilities} draft={draft} onChange={setDraft} prefix="pricing" errorFor={errorFor} legend="Price" error={wholeError} />
        <fieldset className="fieldset">
          <legend>Takes effect</legend>
          <div className="row">
            <label className="checkbox">
              <input type="radio" name="when" value="now" checked={when === 'now'} onChange={() => setWhen('now')} />
              <span>Now</span>
            </label>
            <label className="checkbox">
              <input type="radio" name="when" value="later" checked={when === 'later'} onChange={() => setWhen('later')} />
              <span>Later</span>
            </label>
            {when === 'later' && (
              <Field label="Effective at (your time zone)" error={errorFor('effective_at')}>
                <input type="datetime-local" name="effective_at" value={at} onChange={(event) => setAt(event.target.value)} />
              </Field>
            )}
          </div>
        </fieldset>
        {done && <Notice tone="ok">{done}</Notice>}
        <FormError error={localError ? null : save.error} />
        <div className="actions">
          <button type="button" className="button" onClick={() => { setDraft(priceDraft(model.pricing)); setLocalError(null); save.reset(); setDone(null); }}>
            Reset to the price in force
          </button>
          <button type="submit" className="button button-primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : when === 'now' ? 'Apply new price now' : 'Schedule new price'}
          </button>
        </div>
      </form>
    </Section>
  );
}
