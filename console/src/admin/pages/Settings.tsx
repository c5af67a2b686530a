import { useEffect, useState, type FormEvent } from 'react';
import { ErrorState, Field, FormError, Loading, Notice, PageHeader, Section } from '../../shared/components';
import { useApiMutation, useApiQuery } from '../../shared/query';
import type { Settings, SignupMode } from '../types';
import { CanWrite, useCanWrite } from '../session';
import { InviteCustomerSection, MailOutboxSection } from './settings/SignupMail';

/** Settings: the customer sign-up mode (`GET/PATCH /admin/api/admin/settings`, audited), invitations and the mail outbox. */
const MODES: { value: SignupMode; label: string; hint: string }[] = [
  { value: 'open', label: 'Open', hint: 'Anyone can create a customer account from the customer console.' },
  { value: 'invite', label: 'Invite only', hint: 'Only people with an invitation (from an operator, below, or a team owner) can sign up (the default).' },
  { value: 'closed', label: 'Closed', hint: 'Nobody can sign up; operators create customers here.' },
];

export function SettingsPage() {
  const query = useApiQuery<Settings>('/admin/settings');
  return (
    <>
      <PageHeader title="Settings" />
      {query.isPending ? (
        <Loading label="Loading settings…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      ) : (
        <SignupForm settings={query.data} />
      )}
      <InviteCustomerSection />
      {/* The outbox holds live sign-in links: the server refuses it to viewers, so they are not offered it. */}
      <CanWrite><MailOutboxSection /></CanWrite>
    </>
  );
}

function SignupForm(props: { settings: Settings }) {
  const canWrite = useCanWrite();
  const [mode, setMode] = useState<SignupMode>(props.settings.signup_mode);
  const [saved, setSaved] = useState(false);
  useEffect(() => setMode(props.settings.signup_mode), [props.settings.signup_mode]);

  const save = useApiMutation<{ signup_mode: SignupMode }, Settings>({
    method: 'PATCH',
    path: '/admin/settings',
    invalidate: ['/admin/settings'],
    onSuccess: () => setSaved(true),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    save.mutate({ signup_mode: mode });
  };

  const current = MODES.find((option) => option.value === mode);
  return (
    <Section title="Customer sign-up">
      <form className="stack form-narrow" onSubmit={submit}>
        <Field label="Sign-up mode" hint={current?.hint}>
          <select
            name="signup_mode"
            value={mode}
            disabled={!canWrite}
            onChange={(event) => {
              setMode(event.target.value as SignupMode);
              setSaved(false);
            }}
          >
            {MODES.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </Field>
        <FormError error={save.error} />
        {saved && <Notice tone="ok">Saved.</Notice>}
        <CanWrite fallback={<p className="muted small">Viewers cannot change settings.</p>}>
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={save.isPending || mode === props.settings.signup_mode}>
              {save.isPending ? 'Saving…' : 'Save'}
            </button>
          </div>
        </CanWrite>
      </form>
    </Section>
  );
}
