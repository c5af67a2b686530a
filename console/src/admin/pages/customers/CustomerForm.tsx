import { useState, type FormEvent } from 'react';
import { Field, FormError, fieldError } from '../../../shared/components';
import { listText, optionalInt, optionalList } from '../../../shared/forms';
import { useApiQuery } from '../../../shared/query';
import type { Customer, Group, List } from '../../types';

/** The body of `POST /public/customers` and `PATCH /public/customers/:id`. */
export interface CustomerInput {
  name: string;
  email: string | null;
  status: 'active' | 'suspended';
  group: string;
  plan: { rate_limit_rpm: number | null; max_concurrency: number | null; allowed_models: string[] | null };
}

/**
 * Create or edit a customer: name, email, status, group (from `/admin/groups`) and the plan's limits. Empty limits
 * mean "no limit" (null); on edit every plan field is sent, so clearing one removes it.
 */
export function CustomerForm(props: {
  initial?: Customer;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (input: CustomerInput) => void;
  onCancel: () => void;
}) {
  const initial = props.initial;
  const groups = useApiQuery<List<Group>>('/admin/groups');
  const [name, setName] = useState(initial?.name ?? '');
  const [email, setEmail] = useState(initial?.email ?? '');
  const [status, setStatus] = useState<CustomerInput['status']>(initial?.status ?? 'active');
  const [group, setGroup] = useState(initial?.group ?? 'default');
  const [rpm, setRpm] = useState(initial?.plan.rate_limit_rpm?.toString() ?? '');
  const [concurrency, setConcurrency] = useState(initial?.plan.max_concurrency?.toString() ?? '');
  const [models, setModels] = useState(listText(initial?.plan.allowed_models));
  const [localError, setLocalError] = useState<{ param: string; message: string } | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const rateLimit = optionalInt(rpm);
    const maxConcurrency = optionalInt(concurrency);
    if (Number.isNaN(rateLimit)) return setLocalError({ param: 'plan.rate_limit_rpm', message: 'A whole number, or empty for no limit.' });
    if (Number.isNaN(maxConcurrency)) return setLocalError({ param: 'plan.max_concurrency', message: 'A whole number, or empty for no limit.' });
    setLocalError(null);
    props.onSubmit({
      name: name.trim(),
      email: email.trim() === '' ? null : email.trim(),
      status,
      group,
      plan: { rate_limit_rpm: rateLimit, max_concurrency: maxConcurrency, allowed_models: optionalList(models) },
    });
  };

  const errorFor = (param: string) => (localError?.param === param ? localError.message : fieldError(props.error, param));
  const groupOptions = groups.data?.data ?? [];
  const hasGroup = groupOptions.some((option) => option.id === group);

  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Name" error={errorFor('name')}>
        <input name="name" required maxLength={200} value={name} onChange={(event) => setName(event.target.value)} data-autofocus />
      </Field>
      <Field label="Email" hint="Optional. Unique among customers." error={errorFor('email')}>
        <input type="email" name="email" maxLength={254} value={email} onChange={(event) => setEmail(event.target.value)} />
      </Field>
      <div className="grid-2">
        <Field label="Status" error={errorFor('status')}>
          <select name="status" value={status} onChange={(event) => setStatus(event.target.value as CustomerInput['status'])}>
            <option value="active">active</option>
            <option value="suspended">suspended</option>
          </select>
        </Field>
        <Field label="Group" hint="Picks the channels and the prices." error={errorFor('group')}>
          <select name="group" value={group} onChange={(event) => setGroup(event.target.value)} disabled={groups.isPending}>
            {!hasGroup && <option value={group}>{group}</option>}
            {groupOptions.map((option) => (
              <option key={option.id} value={option.id}>
                {option.name && option.name !== option.id ? `${option.name} (${option.id})` : option.id} — {option.price_percent} %
              </option>
            ))}
          </select>
        </Field>
        <Field label="Requests per minute" hint="Empty: no limit." error={errorFor('plan.rate_limit_rpm')}>
          <input name="rate_limit_rpm" inputMode="numeric" value={rpm} onChange={(event) => setRpm(event.target.value)} />
        </Field>
        <Field label="Max concurrent tasks" hint="Empty: no limit." error={errorFor('plan.max_concurrency')}>
          <input name="max_concurrency" inputMode="numeric" value={concurrency} onChange={(event) => setConcurrency(event.target.value)} />
        </Field>
      </div>
      <Field label="Allowed models" hint="Model ids, separated by commas. Empty: every model." error={errorFor('plan.allowed_models')}>
        <input name="allowed_models" value={models} onChange={(event) => setModels(event.target.value)} />
      </Field>
      <FormError error={props.error} fields={['name', 'email', 'status', 'group', 'plan']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={props.busy || name.trim() === ''}>
          {props.busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}
