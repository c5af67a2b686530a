import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { apiRequest, isApiError } from '../../shared/api';
import { Field } from '../../shared/components';
import { safeNext, useCountdown } from '../../shared/hooks';
import { useSession, type SessionAdmin } from '../../shared/session';

/**
 * Sign-in: email + password (→ `mfa_pending`), then the authentication code or a recovery code (→ `authenticated`).
 * Failures show one uniform message per step; a 429 shows the wait from Retry-After and disables the button.
 */
export function LoginPage() {
  const { session, applyChange, reload, signOut } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'), '/admin');

  useEffect(() => {
    document.title = 'Sign in · genrelay admin';
  }, []);

  if (session.state === 'authenticated') return <Navigate to={next} replace />;

  return (
    <div className="auth-page">
      <div className="auth-card">
        <h1>Sign in</h1>
        <p className="brand-line">genrelay operator console</p>
        {session.state === 'mfa_pending' ? (
          <CodeStep
            onDone={(change) => {
              applyChange(change);
              navigate(next, { replace: true });
            }}
            onExpired={() => void reload()}
            onStartOver={() => void signOut()}
          />
        ) : (
          <PasswordStep onDone={(token) => applyChange({ state: 'mfa_pending', csrf_token: token })} />
        )}
      </div>
    </div>
  );
}

/** The message for a failed step: the wait on 429, one uniform text for wrong input, the server's text otherwise. */
function failureText(error: unknown, wait: number, uniform: string): string | null {
  if (!error) return null;
  if (isApiError(error)) {
    if (error.status === 429) return wait > 0 ? `Too many attempts. Try again in ${wait} s.` : 'Too many attempts. You can try again now.';
    if (error.status === 401) return uniform;
    return error.message;
  }
  return 'Something went wrong. Try again.';
}

function PasswordStep(props: { onDone: (csrfToken: string) => void }) {
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
      const answer = await apiRequest<{ state: string; csrf_token: string }>('POST', '/auth/login', {
        body: { email: email.trim(), password },
        noRedirect: true,
      });
      props.onDone(answer.csrf_token);
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
        {busy ? 'Signing in…' : 'Continue'}
      </button>
    </form>
  );
}

function CodeStep(props: {
  onDone: (change: { state: 'authenticated'; csrf_token: string; admin: SessionAdmin }) => void;
  onExpired: () => void;
  onStartOver: () => void;
}) {
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
      const answer = await apiRequest<{ state: 'authenticated'; csrf_token: string; admin: SessionAdmin }>('POST', '/auth/totp', {
        body,
        noRedirect: true,
      });
      props.onDone(answer);
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
        <Field label="Recovery code" hint="One of the ten codes you saved when you enrolled. Each works once.">
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
