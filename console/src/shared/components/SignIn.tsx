import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { apiRequest, isApiError } from '../api';
import { useSubmitState } from '../hooks';
import { Field } from './Field';
import { appName, pageTitle } from './Page';

/**
 * The sign-in pieces both consoles share: the card page around every open page (sign-in, enrollment, sign-up, …), the
 * password step (`POST {base}/auth/login`) and the authentication-code / recovery-code step (`POST {base}/auth/totp`).
 * Failures show one uniform message per step; a 429 shows the wait from Retry-After and disables the button.
 */
export function AuthShell(props: { title: string; subtitle?: string; wide?: boolean; children: ReactNode }) {
  useEffect(() => {
    document.title = pageTitle(props.title);
  }, [props.title]);
  return (
    <div className="auth-page">
      <div className={props.wide ? 'auth-card auth-card-wide' : 'auth-card'}>
        <h1>{props.title}</h1>
        <p className="brand-line">{props.subtitle ?? appName()}</p>
        {props.children}
      </div>
    </div>
  );
}

/** The message for a failed auth step: the wait on 429, one uniform text for 401, the server's text otherwise. */
export function failureText(error: unknown, wait: number, uniform: string): string | null {
  if (!error) return null;
  if (isApiError(error)) {
    if (error.status === 429) return wait > 0 ? `Too many attempts. Try again in ${wait} s.` : 'Too many attempts. You can try again now.';
    if (error.status === 401) return uniform;
    return error.message;
  }
  return 'Something went wrong. Try again.';
}

function StepError(props: { message: string | null }) {
  if (!props.message) return null;
  return (
    <div className="form-error" role="alert">
      {props.message}
    </div>
  );
}

/** Email and password; hands the server's answer (`{state, csrf_token, …}`) to `onDone`. */
export function PasswordStep<T>(props: { submitLabel: string; onDone: (answer: T) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, wait, run } = useSubmitState();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    return run(
      async () => props.onDone(await apiRequest<T>('POST', '/auth/login', { body: { email: email.trim(), password }, noRedirect: true })),
      () => setPassword(''),
    );
  };

  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      <Field label="Email">
        <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(event) => setEmail(event.target.value)} />
      </Field>
      <Field label="Password">
        <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
      </Field>
      <StepError message={failureText(error, wait, 'The email or password is incorrect.')} />
      <button type="submit" className="button button-primary" disabled={busy || wait > 0 || !email || !password}>
        {busy ? 'Signing in…' : props.submitLabel}
      </button>
    </form>
  );
}

/**
 * The second step of a `mfa_pending` session: the 6-digit code, or one recovery code. When the password step has
 * lapsed (401 `unauthenticated`), `onExpired` starts again from the password.
 */
export function SecondFactorStep<T>(props: { recoveryHint: string; onDone: (answer: T) => void; onExpired: () => void; onStartOver: () => void }) {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const { busy, error, wait, run, clearError } = useSubmitState();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body = recovery ? { recovery_code: code.trim() } : { code: code.replace(/\s+/g, '') };
    return run(
      async () => props.onDone(await apiRequest<T>('POST', '/auth/totp', { body, noRedirect: true })),
      (caught) => {
        if (isApiError(caught) && caught.code === 'unauthenticated') {
          props.onExpired();
          return true;
        }
        setCode('');
      },
    );
  };

  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      {recovery ? (
        <Field label="Recovery code" hint={props.recoveryHint}>
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
      <StepError message={failureText(error, wait, recovery ? 'That recovery code is not valid.' : 'That code is not valid.')} />
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
            clearError();
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
