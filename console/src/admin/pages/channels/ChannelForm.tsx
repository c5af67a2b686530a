import { useId, useRef, useState, type FormEvent } from 'react';
import { isApiError } from '../../../shared/api';
import { Checkbox, Field, FormError, fieldError } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import type { AdminModel, Channel, ErrorClass, Group, List, PriceRule, Provider } from '../../types';
import { PricingEditor } from '../models/PricingEditor';
import { useFocusInvalid } from '../models/useFocusInvalid';
import { EMPTY_DRAFT, draftToRule, priceDraft, summarizeRule, type DraftError, type PriceDraft } from '../models/pricing';

/** The body of `POST /admin/channels` and `PATCH /admin/channels/:id` (every field is sent on edit). */
export interface ChannelInput {
  name: string;
  provider: string;
  base_url: string;
  models: Record<string, string>;
  group: string;
  priority: number;
  weight: number;
  enabled: boolean;
  retry: { attempts?: number; failover_on?: ErrorClass[] };
  settings: Record<string, unknown>;
  costs: Record<string, PriceRule>;
}

/**
 * The provider field offers the server's registry (`GET /admin/providers`), each with the task types it serves. The
 * server stays the authority: an unknown id is answered 400 with the valid ones, shown on the field. Should the list
 * fail to load, the field still takes any id.
 */

const ERROR_CLASSES: { value: ErrorClass; label: string }[] = [
  { value: 'rate_limited', label: 'rate limited' },
  { value: 'auth', label: 'credential rejected (auth)' },
  { value: 'upstream_quota', label: 'upstream quota / balance' },
  { value: 'upstream_error', label: 'upstream error (5xx)' },
  { value: 'network', label: 'network / timeout' },
  { value: 'not_found', label: 'task not found upstream' },
  { value: 'unsupported', label: 'unsupported request' },
  { value: 'invalid_request', label: 'invalid request' },
  { value: 'moderation_input', label: 'moderation (input)' },
  { value: 'moderation_output', label: 'moderation (output)' },
];

interface MappingRow {
  key: number;
  model: string;
  upstream: string;
  cost: PriceDraft;
  showCost: boolean;
}

const WHOLE = /^-?\d+$/;

export function ChannelForm(props: {
  initial?: Channel;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (input: ChannelInput) => void;
  onCancel: () => void;
}) {
  const initial = props.initial;
  const catalogue = useApiQuery<List<AdminModel>>('/admin/models');
  const groups = useApiQuery<List<Group>>('/admin/groups');
  const providers = useApiQuery<List<Provider>>('/admin/providers', undefined, { staleTime: Infinity });
  const providerList = useId();
  const nextKey = useRef(0);
  const newRow = (model = '', upstream = '', cost?: PriceRule): MappingRow => ({
    key: nextKey.current++,
    model,
    upstream,
    cost: priceDraft(cost),
    showCost: Boolean(cost),
  });

  const [name, setName] = useState(initial?.name ?? '');
  const [provider, setProvider] = useState(initial?.provider ?? '');
  const [baseUrl, setBaseUrl] = useState(initial?.base_url ?? '');
  const [group, setGroup] = useState(initial?.group ?? 'default');
  const [priority, setPriority] = useState(String(initial?.priority ?? 0));
  const [weight, setWeight] = useState(String(initial?.weight ?? 1));
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  const [attempts, setAttempts] = useState(initial?.retry?.attempts?.toString() ?? '');
  const [customFailover, setCustomFailover] = useState(initial?.retry?.failover_on !== undefined);
  const [failover, setFailover] = useState<Set<ErrorClass>>(new Set(initial?.retry?.failover_on ?? []));
  const [settings, setSettings] = useState(initial?.settings && Object.keys(initial.settings).length ? JSON.stringify(initial.settings, null, 2) : '');
  const [rows, setRows] = useState<MappingRow[]>(() => {
    const mapped = Object.entries(initial?.models ?? {}).map(([model, upstream]) => newRow(model, upstream, initial?.costs?.[model]));
    return mapped.length ? mapped : [newRow()];
  });
  const [localError, setLocalError] = useState<DraftError | null>(null);

  const formRef = useFocusInvalid<HTMLFormElement>(localError ?? props.error);
  const models = catalogue.data?.data ?? [];
  const modelById = new Map(models.map((model) => [model.id, model]));
  const errorFor = (param: string) =>
    localError && (localError.param === param || localError.param.startsWith(`${param}.`)) ? localError.message : fieldError(props.error, param);
  const exactError = (param: string) =>
    localError?.param === param ? localError.message : isApiError(props.error) && props.error.param === param ? props.error.message : null;

  const updateRow = (key: number, patch: Partial<MappingRow>) => setRows((current) => current.map((row) => (row.key === key ? { ...row, ...patch } : row)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const fail = (param: string, message: string) => setLocalError({ param, message });
    // Costs are converted by the model's type: without the catalogue they would be dropped silently.
    if (!catalogue.data) return fail('models', 'The model catalogue is not loaded yet; try again in a moment.');
    if (!WHOLE.test(priority.trim())) return fail('priority', 'A whole number from -1000 to 1000 (higher is tried first).');
    if (!/^\d+$/.test(weight.trim())) return fail('weight', 'A whole number from 1 to 10000.');
    if (attempts.trim() && !/^\d+$/.test(attempts.trim())) return fail('retry.attempts', 'A whole number from 1 to 10, or empty for the default.');
    let parsedSettings: Record<string, unknown> = {};
    if (settings.trim()) {
      try {
        const value: unknown = JSON.parse(settings);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('settings', 'Settings must be a JSON object.');
        parsedSettings = value as Record<string, unknown>;
      } catch {
        return fail('settings', 'Settings must be valid JSON, e.g. {"timeoutMs": 30000}.');
      }
    }
    const mapping: Record<string, string> = {};
    const costs: Record<string, PriceRule> = {};
    for (const row of rows) {
      const model = row.model.trim();
      const upstream = row.upstream.trim();
      if (!model && !upstream) continue;
      if (!model) return fail(`row.${row.key}`, 'Pick the public model this upstream model serves.');
      if (mapping[model] !== undefined) return fail(`models.${model}`, `${model} is mapped twice.`);
      mapping[model] = upstream || model;
      const type = modelById.get(model)?.type;
      if (type) {
        const converted = draftToRule(type, row.cost, `costs.${model}`);
        if (converted.error) return setLocalError(converted.error);
        if (converted.rule) costs[model] = converted.rule;
      }
    }
    if (Object.keys(mapping).length === 0) return fail('models', 'Map at least one model.');
    setLocalError(null);
    props.onSubmit({
      name: name.trim(),
      provider: provider.trim(),
      base_url: baseUrl.trim(),
      models: mapping,
      group,
      priority: Number(priority.trim()),
      weight: Number(weight.trim()),
      enabled,
      retry: {
        ...(attempts.trim() ? { attempts: Number(attempts.trim()) } : {}),
        ...(customFailover ? { failover_on: ERROR_CLASSES.map((item) => item.value).filter((value) => failover.has(value)) } : {}),
      },
      settings: parsedSettings,
      costs,
    });
  };

  const groupOptions = groups.data?.data ?? [];

  return (
    <form ref={formRef} className="stack" onSubmit={submit} noValidate>
      <div className="grid-2">
        <Field label="Name" error={errorFor('name')}>
          <input name="name" required maxLength={200} value={name} onChange={(event) => setName(event.target.value)} autoFocus />
        </Field>
        <Field label="Provider family" hint={providerHint(providers.data?.data, provider.trim())} error={errorFor('provider')}>
          <input name="provider" required list={providerList} maxLength={32} value={provider} onChange={(event) => setProvider(event.target.value)} spellCheck={false} />
        </Field>
        <datalist id={providerList}>
          {(providers.data?.data ?? []).map((option) => (
            <option key={option.id} value={option.id}>
              {option.types.join(', ')}
            </option>
          ))}
        </datalist>
        <Field label="Base URL" hint="e.g. https://api.example.com/v1" error={errorFor('base_url')}>
          <input name="base_url" type="url" required maxLength={2048} value={baseUrl} onChange={(event) => setBaseUrl(event.target.value)} spellCheck={false} />
        </Field>
        <Field label="Customer group" hint="Customers of this group are routed here." error={errorFor('group')}>
          <select name="group" value={group} onChange={(event) => setGroup(event.target.value)}>
            {!groupOptions.some((option) => option.id === group) && <option value={group}>{group}</option>}
            {groupOptions.map((option) => (
              <option key={option.id} value={option.id}>
                {option.name && option.name !== option.id ? `${option.name} (${option.id})` : option.id}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Priority" hint="Higher tiers are tried first (−1000 to 1000)." error={errorFor('priority')}>
          <input name="priority" inputMode="numeric" value={priority} onChange={(event) => setPriority(event.target.value)} />
        </Field>
        <Field label="Weight" hint="Share of traffic within its priority tier (1 to 10000)." error={errorFor('weight')}>
          <input name="weight" inputMode="numeric" value={weight} onChange={(event) => setWeight(event.target.value)} />
        </Field>
      </div>
      <Checkbox label="Enabled (routes tasks)" checked={enabled} onChange={setEnabled} name="enabled" />

      <fieldset className="fieldset">
        <legend>Models and upstream costs</legend>
        <p className="muted small">
          Each public model (from the catalogue) and the upstream's own model id. The cost is what the upstream charges, in credits, in the same shape as
          the model's price; it feeds the margin reports. Optional.
        </p>
        {exactError('models') && <p className="field-error">{exactError('models')}</p>}
        {catalogue.isError && <p className="field-error">The catalogue could not be loaded: {catalogue.error.message}</p>}
        <ul className="mapping-list">
          {rows.map((row, index) => {
            const model = modelById.get(row.model.trim());
            const costPrefix = `costs.${row.model.trim()}`;
            return (
              <li key={row.key} className="mapping">
                <div className="mapping-row">
                  <Field label={`Public model ${index + 1}`} error={localError?.param === `row.${row.key}` ? localError.message : row.model ? errorFor(`models.${row.model.trim()}`) : null}>
                    <select name={`model-${index}`} value={row.model} onChange={(event) => updateRow(row.key, { model: event.target.value, cost: EMPTY_DRAFT })}>
                      <option value="">Choose…</option>
                      {row.model && !model && <option value={row.model}>{row.model} (not in the catalogue)</option>}
                      {models.map((option) => (
                        <option key={option.id} value={option.id}>
                          {option.id} — {option.type}
                          {option.enabled ? '' : ' (disabled)'}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <Field label={`Upstream model ${index + 1}`} hint="Empty: the same id.">
                    <input name={`upstream-${index}`} maxLength={256} value={row.upstream} onChange={(event) => updateRow(row.key, { upstream: event.target.value })} spellCheck={false} />
                  </Field>
                  <div className="mapping-buttons">
                    {model && (
                      <button type="button" className="button button-small" aria-expanded={row.showCost} onClick={() => updateRow(row.key, { showCost: !row.showCost })}>
                        {row.showCost ? 'Hide cost' : 'Cost…'}
                      </button>
                    )}
                    <button
                      type="button"
                      className="button button-small"
                      aria-label={`Remove model ${index + 1}${row.model ? ` (${row.model})` : ''}`}
                      onClick={() => setRows((current) => (current.length > 1 ? current.filter((item) => item.key !== row.key) : [newRow()]))}
                    >
                      Remove
                    </button>
                  </div>
                </div>
                {model && !row.showCost && (
                  <p className="muted small">
                    Cost:{' '}
                    {(() => {
                      const converted = draftToRule(model.type, row.cost, costPrefix);
                      return converted.rule ? summarizeRule(converted.rule, model.capabilities) : 'none';
                    })()}
                    {errorFor(costPrefix) && <span className="field-error"> — {errorFor(costPrefix)}</span>}
                  </p>
                )}
                {model && row.showCost && (
                  <PricingEditor
                    type={model.type}
                    capabilities={model.capabilities}
                    draft={row.cost}
                    onChange={(cost) => updateRow(row.key, { cost })}
                    prefix={costPrefix}
                    errorFor={errorFor}
                    error={exactError(costPrefix)}
                    legend={`Upstream cost of ${model.id}`}
                    hint="Empty: unknown cost."
                  />
                )}
              </li>
            );
          })}
        </ul>
        <button type="button" className="button button-small" onClick={() => setRows((current) => [...current, newRow()])}>
          Add a model
        </button>
      </fieldset>

      <fieldset className="fieldset">
        <legend>Retry and failover</legend>
        <div className="grid-2 no-margin">
          <Field label="Dispatch attempts" hint="Most tries per task across channels (1 to 10). Empty: the default (5)." error={errorFor('retry.attempts')}>
            <input name="retry.attempts" inputMode="numeric" value={attempts} onChange={(event) => setAttempts(event.target.value)} />
          </Field>
        </div>
        <Checkbox label="Choose which errors fail over to another account or channel (else the default list)" checked={customFailover} onChange={setCustomFailover} />
        {customFailover && (
          <div className="checkbox-grid" role="group" aria-label="Fail over on">
            {ERROR_CLASSES.map((item) => (
              <Checkbox
                key={item.value}
                label={item.label}
                checked={failover.has(item.value)}
                onChange={(checked) => {
                  const next = new Set(failover);
                  if (checked) next.add(item.value);
                  else next.delete(item.value);
                  setFailover(next);
                }}
              />
            ))}
          </div>
        )}
        {errorFor('retry.failover_on') && <p className="field-error">{errorFor('retry.failover_on')}</p>}
      </fieldset>

      <Field label="Provider settings (JSON, optional)" hint="Per-family options, e.g. timeouts or a dialect; see PROVIDERS.md." error={errorFor('settings')}>
        <textarea name="settings" className="mono code-input" rows={4} spellCheck={false} value={settings} onChange={(event) => setSettings(event.target.value)} placeholder="{}" />
      </Field>
      <FormError error={localError ? null : props.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={props.busy || !name.trim() || !provider.trim() || !baseUrl.trim()}>
          {props.busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}

/** The provider field's hint: what the typed provider serves, or the ids to choose from. */
function providerHint(providers: Provider[] | undefined, typed: string): string {
  if (!providers) return "The upstream's API family.";
  const match = providers.find((option) => option.id === typed);
  if (match) return `Serves ${match.types.join(', ') || 'no task type'}${match.reads_balance ? '; reads account balances' : ''}.`;
  return `One of: ${providers.map((option) => option.id).join(', ')}.`;
}
