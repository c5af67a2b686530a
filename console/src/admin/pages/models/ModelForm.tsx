import { useMemo, useState, type FormEvent } from 'react';
import { isApiError } from '../../../shared/api';
import { Checkbox, Field, FormError, fieldError } from '../../../shared/components';
import type { AdminModel, ListPrice, ModelType, PriceRule } from '../../types';
import { PricingEditor } from './PricingEditor';
import { useFocusInvalid } from './useFocusInvalid';
import { EMPTY_DRAFT, MODEL_TYPES, draftToRule, variantEntries, type DraftError, type PriceDraft } from './pricing';

/** The body of `POST /admin/models` (create) or `PATCH /admin/models/:id` (edit: no id, type or pricing). */
export interface ModelInput {
  id?: string;
  type?: ModelType;
  display_name: string;
  category?: string;
  description: string | null;
  capabilities: Record<string, unknown>;
  pricing?: PriceRule;
  list_price: ListPrice | null;
  enabled: boolean;
  sort_order: number;
}

/**
 * Starting capabilities per type: the keys the server requires (API.md §8), with plausible values to edit. Music and
 * embedding models need none.
 */
const CAPABILITY_EXAMPLES: Record<ModelType, Record<string, unknown>> = {
  video: {
    durations: { min: 4, max: 12, default: 5 },
    resolutions: ['480p', '720p'],
    default_resolution: '720p',
    ratios: ['16:9', '9:16', '1:1'],
    default_ratio: '16:9',
    generate_audio: false,
  },
  image: { sizes: ['1024x1024', '1536x1024'], default_size: '1024x1024', qualities: ['low', 'high'], default_quality: 'low', max_images: 4 },
  music: { max_prompt_length: 3000, instrumental: true },
  chat: { context_window: 128000, max_output_tokens: 16384 },
  embedding: { dimensions: 1536 },
};

const LIST_UNITS: Record<ModelType, ListPrice['unit']> = { video: 'second', image: 'image', music: 'track', chat: 'million_tokens', embedding: 'million_tokens' };

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const DECIMAL = /^\d+(\.\d+)?$/;

/** `variant=amount` lines → a record, or the first bad line. */
function parseAmountBy(text: string): Record<string, number> | string {
  const out: Record<string, number> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(line);
    if (!match || !DECIMAL.test(match[2]!)) return `Line ${index + 1}: write variant=amount, e.g. 720p=0.10`;
    out[match[1]!] = Number(match[2]);
  }
  return out;
}

export function ModelForm(props: {
  initial?: AdminModel;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (input: ModelInput) => void;
  onCancel: () => void;
}) {
  const initial = props.initial;
  const creating = !initial;
  const [id, setId] = useState('');
  const [type, setType] = useState<ModelType>(initial?.type ?? 'video');
  const [displayName, setDisplayName] = useState(initial?.display_name ?? '');
  const [category, setCategory] = useState(initial?.category ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [capabilities, setCapabilities] = useState(JSON.stringify(initial?.capabilities ?? CAPABILITY_EXAMPLES.video, null, 2));
  const [draft, setDraft] = useState<PriceDraft>(EMPTY_DRAFT);
  const [hasList, setHasList] = useState(Boolean(initial?.list_price));
  const [listAmount, setListAmount] = useState(initial?.list_price ? String(initial.list_price.amount) : '');
  const [listCurrency, setListCurrency] = useState(initial?.list_price?.currency ?? 'USD');
  const [listUnit, setListUnit] = useState<ListPrice['unit']>(initial?.list_price?.unit ?? LIST_UNITS[initial?.type ?? 'video']);
  const [listBy, setListBy] = useState(
    variantEntries(initial?.list_price?.amount_by, initial?.capabilities)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n'),
  );
  const [enabled, setEnabled] = useState(initial?.enabled ?? false);
  const [sortOrder, setSortOrder] = useState(String(initial?.sort_order ?? 0));
  const [localError, setLocalError] = useState<DraftError | null>(null);

  const formRef = useFocusInvalid<HTMLFormElement>(localError ?? props.error);
  const parsedCapabilities = useMemo(() => parseObject(capabilities), [capabilities]);

  const changeType = (next: ModelType) => {
    // A fresh model of another type starts from that type's example, unless the operator already edited them.
    if (creating && capabilities.trim() === JSON.stringify(CAPABILITY_EXAMPLES[type], null, 2).trim()) {
      setCapabilities(JSON.stringify(CAPABILITY_EXAMPLES[next], null, 2));
    }
    setType(next);
    setListUnit(LIST_UNITS[next]);
    setDraft(EMPTY_DRAFT);
  };

  const errorFor = (param: string) => (localError && (localError.param === param || localError.param.startsWith(`${param}.`)) ? localError.message : fieldError(props.error, param));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const fail = (param: string, message: string) => setLocalError({ param, message });
    const caps = parseObject(capabilities);
    if (!caps) return fail('capabilities', 'Capabilities must be a JSON object, e.g. {"context_window": 128000}.');
    const order = sortOrder.trim();
    if (!/^-?\d+$/.test(order)) return fail('sort_order', 'A whole number (lower comes first).');
    let pricing: PriceRule | undefined;
    if (creating) {
      const converted = draftToRule(type, draft, 'pricing');
      if (converted.error) return setLocalError(converted.error);
      pricing = converted.rule ?? undefined;
    }
    let listPrice: ListPrice | null = null;
    if (hasList) {
      if (!DECIMAL.test(listAmount.trim())) return fail('list_price.amount', 'An amount such as 0.10.');
      if (!/^[A-Z]{3}$/.test(listCurrency.trim())) return fail('list_price.currency', 'Three capital letters, e.g. USD.');
      const by = parseAmountBy(listBy);
      if (typeof by === 'string') return fail('list_price.amount_by', by);
      listPrice = { amount: Number(listAmount.trim()), currency: listCurrency.trim(), unit: listUnit, ...(Object.keys(by).length ? { amount_by: by } : {}) };
    }
    setLocalError(null);
    props.onSubmit({
      ...(creating ? { id: id.trim(), type } : {}),
      display_name: displayName.trim(),
      ...(category.trim() ? { category: category.trim() } : {}),
      description: description.trim() === '' ? null : description.trim(),
      capabilities: caps,
      ...(pricing ? { pricing } : {}),
      list_price: listPrice,
      enabled,
      sort_order: Number(order),
    });
  };

  return (
    <form ref={formRef} className="stack" onSubmit={submit} noValidate>
      <div className="grid-2">
        {creating ? (
          <Field label="Model id" hint="What customers send as model, e.g. seedance-2.0-fast. Fixed once created." error={errorFor('id')}>
            <input name="id" required maxLength={64} value={id} onChange={(event) => setId(event.target.value)} autoFocus spellCheck={false} />
          </Field>
        ) : null}
        {creating ? (
          <Field label="Type" hint="Fixed once created." error={errorFor('type')}>
            <select name="type" value={type} onChange={(event) => changeType(event.target.value as ModelType)}>
              {MODEL_TYPES.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        <Field label="Display name" error={errorFor('display_name')}>
          <input name="display_name" required maxLength={200} value={displayName} onChange={(event) => setDisplayName(event.target.value)} autoFocus={!creating} />
        </Field>
        <Field label="Category" hint={creating ? 'Empty: the type.' : undefined} error={errorFor('category')}>
          <input name="category" maxLength={64} value={category} onChange={(event) => setCategory(event.target.value)} />
        </Field>
        <Field label="Sort order" hint="Lower comes first in lists." error={errorFor('sort_order')}>
          <input name="sort_order" inputMode="numeric" value={sortOrder} onChange={(event) => setSortOrder(event.target.value)} />
        </Field>
        <div className="field field-checkbox">
          <Checkbox label="Enabled (offered to customers)" checked={enabled} onChange={setEnabled} name="enabled" />
          <div className="field-hint">Needs a price for every variant.</div>
          {errorFor('enabled') && <div className="field-error">{errorFor('enabled')}</div>}
        </div>
      </div>
      <Field label="Description" error={errorFor('description')}>
        <textarea name="description" maxLength={4000} rows={2} value={description} onChange={(event) => setDescription(event.target.value)} />
      </Field>
      <Field
        label={`Capabilities (JSON, ${type} keys)`}
        hint={
          <>
            {parsedCapabilities ? 'Valid JSON.' : 'Not a JSON object yet.'}{' '}
            <button type="button" className="button-link" onClick={() => setCapabilities(JSON.stringify(CAPABILITY_EXAMPLES[type], null, 2))}>
              Replace with the {type} example
            </button>
          </>
        }
        error={errorFor('capabilities')}
      >
        <textarea name="capabilities" className="mono code-input" rows={10} spellCheck={false} value={capabilities} onChange={(event) => setCapabilities(event.target.value)} />
      </Field>
      {creating && (
        <PricingEditor
          type={type}
          capabilities={parsedCapabilities}
          draft={draft}
          onChange={setDraft}
          prefix="pricing"
          errorFor={errorFor}
          legend="Price (version 1, effective now)"
          error={isApiError(props.error) && props.error.param === 'pricing' ? props.error.message : null}
          hint="Integer credits. Leave everything empty to price it later (a model without a price cannot be enabled)."
        />
      )}
      <fieldset className="fieldset">
        <legend>Official list price</legend>
        <Checkbox label="The upstream publishes a list price" checked={hasList} onChange={setHasList} name="has_list_price" />
        {hasList && (
          <div className="stack list-price">
            <div className="price-grid">
              <Field label="Amount" error={errorFor('list_price.amount')}>
                <input name="list_price.amount" inputMode="decimal" value={listAmount} onChange={(event) => setListAmount(event.target.value)} />
              </Field>
              <Field label="Currency" error={errorFor('list_price.currency')}>
                <input name="list_price.currency" maxLength={3} value={listCurrency} onChange={(event) => setListCurrency(event.target.value.toUpperCase())} />
              </Field>
              <Field label="Per" error={errorFor('list_price.unit')}>
                <select name="list_price.unit" value={listUnit} onChange={(event) => setListUnit(event.target.value as ListPrice['unit'])}>
                  {(['second', 'image', 'track', 'million_tokens'] as const).map((unit) => (
                    <option key={unit} value={unit}>
                      {unit === 'million_tokens' ? 'million tokens' : unit}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
            <Field
              label="Per variant (optional)"
              hint={type === 'chat' || type === 'embedding' ? 'One per line: input=0.25, output=2.00' : 'One per line, e.g. 720p=0.10 or high=0.19'}
              error={errorFor('list_price.amount_by')}
            >
              <textarea name="list_price.amount_by" className="mono" rows={3} value={listBy} onChange={(event) => setListBy(event.target.value)} />
            </Field>
          </div>
        )}
      </fieldset>
      <FormError error={localError ? null : props.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={props.busy || displayName.trim() === '' || (creating && id.trim() === '')}>
          {props.busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}
