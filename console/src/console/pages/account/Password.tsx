import { useState, type FormEvent } from 'react';
import { Field, fieldError, FormError, Notice, Section } from '../../../shared/components';
import { useApiMutation } from '../../../shared/query';
import { useCustomerSession } from '../../session';

/** `POST /console/api/account/password {current_password, new_password}`; the session is reloaded afterwards. */
export function PasswordSection() {
  const { reload } = useCustomerSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [done, setDone] = useState(false);
  const change = useApiMutation<{ current_password: string; new_password: string }>({
    method: 'POST',
    path: '/account/password',
    onSuccess: () => {
      setDone(true);
      setCurrent('');
      setNext('');
      setConfirm('');
      void reload();
    },
  });
  const mismatch = confirm.length > 0 && confirm !== next;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    change.mutate({ current_password: current, new_password: next });
  };
  return (
    <Section title="Password">
      <form className="stack" onSubmit={submit} noValidate>
        <Field label="Current password" error={fieldError(change.error, 'current_password')}>
          <input type="password" name="current_password" autoComplete="current-password" value={current} onChange={(event) => setCurrent(event.target.value)} />
        </Field>
        <Field label="New password" hint="At least 12 characters." error={fieldError(change.error, 'new_password')}>
          <input type="password" name="new_password" autoComplete="new-password" minLength={12} maxLength={256} value={next} onChange={(event) => setNext(event.target.value)} />
        </Field>
        <Field label="Repeat the new password" error={mismatch ? 'The two passwords differ.' : null}>
          <input type="password" name="confirm_password" autoComplete="new-password" value={confirm} onChange={(event) => setConfirm(event.target.value)} />
        </Field>
        <FormError error={change.error} fields={['current_password', 'new_password']} />
        {done && <Notice tone="ok">Your password is changed. Your other sessions were signed out.</Notice>}
        <div>
          <button type="submit" className="button button-primary" disabled={change.isPending || !current || next.length < 12 || next !== confirm}>
            {change.isPending ? 'Saving…' : 'Change the password'}
          </button>
        </div>
      </form>
    </Section>
  );
}
