import { Field } from '../../../shared/components';
import type { ModelType } from '../../types';
import { PRICE_UNIT, variantGroups, type PriceDraft } from './pricing';

/**
 * Edits one price rule: a flat price and one input per variant the capabilities allow (video resolutions, image
 * qualities and sizes), or input/output token prices. Variants the draft holds but the capabilities no longer list
 * are shown too (the server will refuse them; the operator can clear them). `errorFor(param)` gives the message for
 * a dotted param under `prefix` (`pricing.credits_by.720p`).
 */
export function PricingEditor(props: {
  type: ModelType;
  capabilities: Record<string, unknown> | null;
  draft: PriceDraft;
  onChange: (draft: PriceDraft) => void;
  prefix: string;
  errorFor: (param: string) => string | null;
  legend: string;
  hint?: string;
  /** An error about the rule as a whole (param exactly `prefix`, e.g. 400 `price_incomplete`). */
  error?: string | null;
  disabled?: boolean;
}) {
  const { type, draft, prefix } = props;
  const unit = PRICE_UNIT[type];
  const set = (patch: Partial<PriceDraft>) => props.onChange({ ...draft, ...patch });
  const setBy = (key: string, value: string) => set({ by: { ...draft.by, [key]: value } });

  if (unit === 'token') {
    return (
      <fieldset className="fieldset" disabled={props.disabled}>
        <legend>{props.legend}</legend>
        {props.hint && <p className="muted small">{props.hint}</p>}
        {props.error && <p className="field-error">{props.error}</p>}
        <div className="price-grid">
          <Field label="Input tokens (credits per million)" error={props.errorFor(`${prefix}.input_credits_per_million`)}>
            <input inputMode="numeric" name={`${prefix}.input`} value={draft.input} onChange={(event) => set({ input: event.target.value })} />
          </Field>
          {type === 'chat' && (
            <Field label="Output tokens (credits per million)" error={props.errorFor(`${prefix}.output_credits_per_million`)}>
              <input inputMode="numeric" name={`${prefix}.output`} value={draft.output} onChange={(event) => set({ output: event.target.value })} />
            </Field>
          )}
        </div>
      </fieldset>
    );
  }

  const groups = variantGroups(type, props.capabilities);
  const known = new Set(groups.flatMap((group) => group.names));
  const stray = Object.keys(draft.by).filter((key) => !known.has(key));
  const per = `credits per ${unit}`;

  return (
    <fieldset className="fieldset" disabled={props.disabled}>
      <legend>{props.legend}</legend>
      {props.hint && <p className="muted small">{props.hint}</p>}
      {props.error && <p className="field-error">{props.error}</p>}
      <div className="price-grid price-grid-wide">
        <Field
          label={type === 'music' ? `Per track (credits)` : `Flat price (${per})`}
          hint={type === 'music' ? undefined : 'For every variant without its own price.'}
          error={props.errorFor(`${prefix}.credits`)}
        >
          <input inputMode="numeric" name={`${prefix}.credits`} value={draft.credits} onChange={(event) => set({ credits: event.target.value })} />
        </Field>
      </div>
      {groups.map((group) => (
        <div key={group.title} className="price-group">
          <h3 className="price-group-title">
            {group.title} <span className="muted small">({per})</span>
          </h3>
          {group.names.length === 0 ? (
            <p className="muted small">The capabilities list none yet.</p>
          ) : (
            <div className="price-grid">
              {group.names.map((name) => (
                <Field key={name} label={name} error={props.errorFor(`${prefix}.credits_by.${name}`)}>
                  <input inputMode="numeric" name={`${prefix}.credits_by.${name}`} value={draft.by[name] ?? ''} onChange={(event) => setBy(name, event.target.value)} />
                </Field>
              ))}
            </div>
          )}
        </div>
      ))}
      {stray.length > 0 && (
        <div className="price-group">
          <h3 className="price-group-title">Variants the capabilities do not list</h3>
          <p className="muted small">The server refuses these; empty them to drop them.</p>
          <div className="price-grid">
            {stray.map((name) => (
              <Field key={name} label={name} error={props.errorFor(`${prefix}.credits_by.${name}`)}>
                <input inputMode="numeric" name={`${prefix}.credits_by.${name}`} value={draft.by[name] ?? ''} onChange={(event) => setBy(name, event.target.value)} />
              </Field>
            ))}
          </div>
        </div>
      )}
    </fieldset>
  );
}
