import { useState, type FormEvent } from 'react';
import { Field, fieldError, FormError, Section, SecretOnce } from '../../../shared/components';
import { useApiMutation } from '../../../shared/query';
import { OwnerOnly } from '../../session';
import type { Mode } from '../../types';

/**
 * The customer's callback signing secret (`callback_url` deliveries): revealed only after re-entering the password
 * (`POST /console/api/webhooks/secret {password}`), held in this component's state until hidden. Owners only.
 */
export function SigningSecretSection(props: { mode: Mode }) {
  return (
    <Section title="Signing secret">
      <OwnerOnly fallback={<p className="muted">Only the team's owners can reveal the signing secret.</p>}>
        <Reveal key={props.mode} mode={props.mode} />
      </OwnerOnly>
    </Section>
  );
}

function Reveal(props: { mode: Mode }) {
  const [password, setPassword] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const reveal = useApiMutation<{ password: string; mode: Mode }, { secret: string }>({
    method: 'POST',
    path: '/webhooks/secret',
    onSuccess: (answer) => {
      setSecret(answer.secret);
      setPassword('');
    },
  });
  if (secret) {
    return (
      <div className="stack">
        <SecretOnce label={`Signing secret (${props.mode})`} value={secret} what="the secret" />
        <div className="actions">
          <button type="button" className="button" onClick={() => setSecret(null)}>
            Hide the secret
          </button>
        </div>
      </div>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    reveal.mutate({ password, mode: props.mode });
  };
  return (
    <form className="stack form-narrow" onSubmit={submit} noValidate>
      <p className="small">
        Deliveries to a task's <code>callback_url</code> are signed with this secret; check the <code>webhook-signature</code> header with it.
        Enter your password to reveal it.
      </p>
      <Field label="Password" error={fieldError(reveal.error, 'password')}>
        <input type="password" name="password" autoComplete="current-password" value={password} onChange={(event) => setPassword(event.target.value)} />
      </Field>
      <FormError error={reveal.error} fields={['password']} />
      <div>
        <button type="submit" className="button button-primary" disabled={reveal.isPending || !password}>
          {reveal.isPending ? 'Checking…' : 'Reveal the secret'}
        </button>
      </div>
    </form>
  );
}
