import { useState, type FormEvent } from 'react';
import { Link, Navigate } from 'react-router';
import { apiRequest, isApiError } from '../../../shared/api';
import { AuthShell, failureText, Field, fieldError, FormError, Notice } from '../../../shared/components';
import { useSubmitState } from '../../../shared/hooks';
import { useHashParam } from '../../components';
import { useCustomerSession } from '../../session';
import type { SessionChange } from '../../types';

/**
 * Sign-up at /console/signup, in the operator's mode: `open` (anyone), `invite` (an invitation link:
 * `/console/signup#invite=…`), `closed` (a clear message, no form). Passwords are 12–256 characters (the server checks).
 * The answer is either a signed-in session or "verify your email first".
 */
export function SignupPage() {
  const { session, applyChange } = useCustomerSession();
  const invite = useHashParam('invite');
  const [done, setDone] = useState<'verify_email' | null>(null);

  if (session.state === 'authenticated' && !done) return <Navigate to="/" replace />;

  if (done === 'verify_email') {
    return (
      <AuthShell title="Check your inbox">
        <div className="stack">
          <Notice tone="ok">Your account is created. We sent a verification link to your email address; open it to finish.</Notice>
          <p className="small">
            The link is valid for 24 hours. Your test credits arrive once the address is verified.{' '}
            {session.state === 'authenticated' ? <Link to="/">Continue to the console</Link> : <Link to="/login">Sign in</Link>}
          </p>
        </div>
      </AuthShell>
    );
  }

  if (session.signup_mode === 'closed' && !invite) {
    return (
      <AuthShell title="Sign-up is closed">
        <p>This genrelay does not accept new sign-ups at the moment. Ask the operator for an account or an invitation.</p>
        <p className="small">
          Already have an account? <Link to="/login">Sign in</Link>
        </p>
      </AuthShell>
    );
  }
  if (session.signup_mode === 'invite' && !invite) {
    return (
      <AuthShell title="Sign-up is by invitation">
        <p>New accounts need an invitation link from the operator or from a team owner. Open the link from your invitation mail.</p>
        <p className="small">
          Already have an account? <Link to="/login">Sign in</Link>
        </p>
      </AuthShell>
    );
  }

  return (
    <AuthShell title={invite ? 'Accept your invitation' : 'Create your account'}>
      <SignupForm
        invite={invite}
        onDone={(answer) => {
          if (answer.state === 'verify_email') setDone('verify_email');
          applyChange(answer);
        }}
      />
      <p className="auth-links small">
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </AuthShell>
  );
}

function SignupForm(props: { invite: string | null; onDone: (answer: SessionChange) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const { busy, error, wait, run } = useSubmitState();
  const short = password.length > 0 && password.length < 12;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: Record<string, string> = { email: email.trim(), password };
    if (name.trim() && !props.invite) body.name = name.trim();
    if (props.invite) body.invite_token = props.invite;
    return run(async () => props.onDone(await apiRequest<SessionChange>('POST', '/auth/signup', { body, noRedirect: true })));
  };

  const throttled = isApiError(error) && error.status === 429;
  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      <Field label="Email" error={fieldError(error, 'email')}>
        <input type="email" name="email" autoComplete="email" required autoFocus value={email} onChange={(event) => setEmail(event.target.value)} />
      </Field>
      <Field label="Password" hint="At least 12 characters." error={fieldError(error, 'password') ?? (short ? 'Use at least 12 characters.' : null)}>
        <input type="password" name="password" autoComplete="new-password" required minLength={12} maxLength={256} value={password} onChange={(event) => setPassword(event.target.value)} />
      </Field>
      {!props.invite && (
        <Field label="Company or project name" hint="Optional; you can change it later." error={fieldError(error, 'name')}>
          <input name="name" autoComplete="organization" maxLength={200} value={name} onChange={(event) => setName(event.target.value)} />
        </Field>
      )}
      {throttled ? (
        <div className="form-error" role="alert">
          {failureText(error, wait, '')}
        </div>
      ) : (
        <FormError error={error} fields={['email', 'password', 'name']} />
      )}
      <button type="submit" className="button button-primary" disabled={busy || wait > 0 || !email || password.length < 12}>
        {busy ? 'Creating the account…' : 'Create account'}
      </button>
    </form>
  );
}
