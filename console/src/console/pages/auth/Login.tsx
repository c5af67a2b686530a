import { useState, type FormEvent } from 'react';
import { Link, Navigate, useSearchParams } from 'react-router';
import { apiRequest, isApiError } from '../../../shared/api';
import { Field } from '../../../shared/components';
import { safeNext, useCountdown } from '../../../shared/hooks';
import { AuthShell, failureText } from '../../components';
import { useCustomerSession } from '../../session';
import type { SessionChange } from '../../types';

/**
 * Sign-in: email + password (→ `authenticated`, or `mfa_pending` when the user turned on TOTP), then the
 * authentication code or a recovery code. One uniform message per failed step; a 429 shows the wait and disables
 * the button.
 */
export function LoginPage() {
  const { session, applyChange, reload, signOut } = useCustomerSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'), '/console');

  if (session.state === 'authenticated') return <Navigate to={next} replace />;

  return (
    <AuthShell title="Sign in">
      {session.state === 'mfa_pending' ? (
        <CodeStep onDone={applyChange} onExpired={() => void reload()} onStartOver={() => void signOut()} />
      ) : (
        <>
          <PasswordStep onDone={applyChange} />
          <p className="auth-links small">
            <Link to="/reset">Forgot your password?</Link>
            {session.signup_mode !== 'closed' && (
              <>
                {' · '}
                <Link to="/signup">Create an account</Link>
              </>
            )}
          </p>
        </>
      )}
    </AuthShell>
  );
}

function PasswordStep(props: { onDone: (change: SessionChange) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const wait = useCountdown(isApiError(error) ? error.retryAfter : null, error);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await apiRequest<SessionChange>('POST', '/auth/login', { body: { email: email.trim(), password }, noRedirect: true });
      props.onDone(answer);
    } catch (caught) {
      setError(caught);
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  const message = failureText(error, wait, 'The email or password is incorrect.');
  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      <Field label="Email">
        <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(event) => setEmail(event.target.value)} />
      </Field>
      <Field label="Password">
        <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
      </Field>
      {message && (
        <div className="form-error" role="alert">
          {message}
        </div>
      )}
      <button type="submit" className="button button-primary" disabled={busy || wait > 0 || !email || !password}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function CodeStep(props: { onDone: (change: SessionChange) => void; onExpired: () => void; onStartOver: () => void }) {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const wait = useCountdown(isApiError(error) ? error.retryAfter : null, error);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = recovery ? { recovery_code: code.trim() } : { code: code.replace(/\s+/g, '') };
      const answer = await apiRequest<SessionChange>('POST', '/auth/totp', { body, noRedirect: true });
      props.onDone({ ...answer, state: 'authenticated' });
    } catch (caught) {
      // The password step is only valid for a few minutes; when it has lapsed, start again from the password.
      if (isApiError(caught) && caught.code === 'unauthenticated') {
        props.onExpired();
        return;
      }
      setError(caught);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  const message = failureText(error, wait, recovery ? 'That recovery code is not valid.' : 'That code is not valid.');
  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      {recovery ? (
        <Field label="Recovery code" hint="One of the codes you saved when you turned on two-step sign-in. Each works once.">
          <input key="recovery" name="recovery_code" autoComplete="off" spellCheck={false} required autoFocus value={code} onChange={(event) => setCode(event.target.value)} />
        </Field>
      ) : (
        <Field label="Authentication code" hint="The 6-digit code from your authenticator app.">
          <input
            key="code"
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]*"
            maxLength={7}
            required
            autoFocus
            value={code}
            onChange={(event) => setCode(event.target.value)}
          />
        </Field>
      )}
      {message && (
        <div className="form-error" role="alert">
          {message}
        </div>
      )}
      <button type="submit" className="button button-primary" disabled={busy || wait > 0 || !code.trim()}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
      <div className="actions">
        <button
          type="button"
          className="button-link"
          onClick={() => {
            setRecovery(!recovery);
            setCode('');
            setError(null);
          }}
        >
          {recovery ? 'Use an authentication code instead' : 'Use a recovery code instead'}
        </button>
        <button type="button" className="button-link" onClick={props.onStartOver}>
          Start over
        </button>
      </div>
    </form>
  );
}
