import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';
import { isApiError } from '../api';

interface ControlProps {
  id?: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

/**
 * A labelled form control: `<Field label="Email"><input type="email" … /></Field>`. The `<label>` is bound to the
 * control with `htmlFor`/`id` (generated), and the hint and error are linked with `aria-describedby`.
 */
export function Field(props: { label: ReactNode; hint?: ReactNode; error?: string | null; children: ReactElement<ControlProps>; className?: string }) {
  const id = useId();
  const controlId = props.children.props.id ?? `field${id}`;
  const hintId = props.hint ? `${controlId}-hint` : undefined;
  const errorId = props.error ? `${controlId}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${props.error ? ' field-invalid' : ''}${props.className ? ` ${props.className}` : ''}`}>
      <label htmlFor={controlId}>{props.label}</label>
      {cloneElement(props.children, { id: controlId, 'aria-describedby': describedBy, 'aria-invalid': props.error ? true : undefined })}
      {props.hint && (
        <div className="field-hint" id={hintId}>
          {props.hint}
        </div>
      )}
      {props.error && (
        <div className="field-error" id={errorId}>
          {props.error}
        </div>
      )}
    </div>
  );
}

/** A checkbox with its label to the right. */
export function Checkbox(props: { label: ReactNode; checked: boolean; onChange: (checked: boolean) => void; disabled?: boolean; name?: string }) {
  return (
    <label className="checkbox">
      <input type="checkbox" name={props.name} checked={props.checked} disabled={props.disabled} onChange={(event) => props.onChange(event.target.checked)} />
      <span>{props.label}</span>
    </label>
  );
}

/**
 * The server's message when an API error names `param` (or a field below it: `plan` matches `plan.rate_limit_rpm`),
 * for `<Field error={fieldError(mutation.error, 'email')}>`.
 */
export function fieldError(error: unknown, param: string): string | null {
  if (!isApiError(error) || !error.param) return null;
  return error.param === param || error.param.startsWith(`${param}.`) ? error.message : null;
}
