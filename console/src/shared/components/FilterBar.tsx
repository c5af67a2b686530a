import { useId, useState, type FormEvent } from 'react';
import { isoToLocal, localToIso } from '../forms';
import { Field, fieldError } from './Field';

/**
 * The filter form above a list: labelled text, select and date-time fields, "Apply filters" and "Clear". It edits a
 * draft and hands the values over only on submit (a select does not fire a request while it is arrowed through).
 * Date-time values are RFC 3339 outside (what the API takes, kept in the URL) and `datetime-local` text inside. Give
 * the form `key={…the applied values…}` so a new URL resets the draft. A field the server refused shows its message.
 */
export type FilterField<K extends string> =
  | { key: K; label: string; kind: 'text'; hint?: string; placeholder?: string; suggestions?: { value: string; label?: string }[] }
  | {
      key: K;
      label: string;
      kind: 'select';
      options: readonly (string | { value: string; label: string })[];
      /** The first option, for "no filter" (default "Any"); null: no such option, the empty value shows the first one. */
      anyLabel?: string | null;
    }
  | { key: K; label: string; kind: 'datetime' };

export function FilterBar<K extends string>(props: {
  /** The form's accessible name ("Task filters"). */
  label: string;
  fields: readonly FilterField<K>[];
  values: Record<K, string>;
  error?: unknown;
  onApply: (values: Record<K, string>) => void;
  applyLabel?: string;
}) {
  const isDate = (key: K) => props.fields.some((field) => field.key === key && field.kind === 'datetime');
  const convert = (values: Record<K, string>, change: (value: string) => string) =>
    Object.fromEntries(Object.entries<string>(values).map(([key, value]) => [key, isDate(key as K) ? change(value) : value])) as Record<K, string>;
  const [draft, setDraft] = useState<Record<K, string>>(() => convert(props.values, isoToLocal));
  const listId = useId();
  const set = (key: K) => (event: { target: { value: string } }) => setDraft({ ...draft, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply(convert(draft, (value) => localToIso(value) ?? ''));
  };
  const clear = () => props.onApply(Object.fromEntries(props.fields.map((field) => [field.key, ''])) as Record<K, string>);

  return (
    <form className="filters" onSubmit={submit} aria-label={props.label}>
      {props.fields.map((field) => {
        const error = fieldError(props.error, field.key);
        if (field.kind === 'select') {
          const options = field.options.map((option) => (typeof option === 'string' ? { value: option, label: option } : option));
          const noAny = field.anyLabel === null;
          return (
            <Field key={field.key} label={field.label} error={error}>
              <select name={field.key} value={draft[field.key] || (noAny ? (options[0]?.value ?? '') : '')} onChange={set(field.key)}>
                {!noAny && <option value="">{field.anyLabel ?? 'Any'}</option>}
                {options.map(({ value, label }) => {
                  return (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  );
                })}
              </select>
            </Field>
          );
        }
        if (field.kind === 'datetime') {
          return (
            <Field key={field.key} label={field.label} error={error}>
              <input type="datetime-local" name={field.key} value={draft[field.key] ?? ''} onChange={set(field.key)} />
            </Field>
          );
        }
        const list = field.suggestions ? `${listId}-${field.key}` : undefined;
        return (
          <Field key={field.key} label={field.label} hint={field.hint} error={error}>
            <input name={field.key} list={list} value={draft[field.key] ?? ''} onChange={set(field.key)} placeholder={field.placeholder} spellCheck={false} />
          </Field>
        );
      })}
      {props.fields.map((field) =>
        field.kind === 'text' && field.suggestions ? (
          <datalist key={field.key} id={`${listId}-${field.key}`}>
            {field.suggestions.map((suggestion) => (
              <option key={suggestion.value} value={suggestion.value}>
                {suggestion.label}
              </option>
            ))}
          </datalist>
        ) : null,
      )}
      <div className="actions filters-actions">
        <button type="submit" className="button button-primary">
          {props.applyLabel ?? 'Apply filters'}
        </button>
        <button type="button" className="button" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
