import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { apiRequest, isApiError } from '../../../shared/api';
import { AuthShell, failureText, Field, fieldError, FormError, Notice } from '../../../shared/components';
import { useSubmitState } from '../../../shared/hooks';
import { useHashParam } from '../../components';

/**
 * /console/reset: without a token, "forgot password" (always answered the same way, whether the address exists or
 * not); with `#token=…` from the mail, the new password (which signs out every session of that user).
 */
export function ResetPage() {
  const token = useHashParam('token');
  return token ? <NewPassword token={token} /> : <ForgotPassword />;
}

function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const { busy, error, wait, run } = useSubmitState();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    return run(async () => {
      await apiRequest('POST', '/auth/password-reset', { body: { email: email.trim() }, noRedirect: true });
      setSent(true);
    });
  };

  return (
    <AuthShell title="Reset your password">
      {sent ? (
        <div className="stack">
          <Notice tone="ok">If an account uses {email.trim()}, a reset link is on its way. It is valid for one hour.</Notice>
          <p className="small">
            <Link to="/login">Back to sign-in</Link>
          </p>
        </div>
      ) : (
        <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
          <p className="small">Enter your account's email address and we will send you a link to choose a new password.</p>
          <Field label="Email" error={fieldError(error, 'email')}>
            <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(event) => setEmail(event.target.value)} />
          </Field>
          {isApiError(error) && error.status === 429 ? (
            <div className="form-error" role="alert">
              {failureText(error, wait, '')}
            </div>
          ) : (
            <FormError error={error} fields={['email']} />
          )}
          <button type="submit" className="button button-primary" disabled={busy || wait > 0 || !email.trim()}>
            {busy ? 'Sending…' : 'Send the reset link'}
          </button>
          <p className="auth-links small">
            <Link to="/login">Back to sign-in</Link>
          </p>
        </form>
      )}
    </AuthShell>
  );
}

function NewPassword(props: { token: string }) {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, run } = useSubmitState();
  const mismatch = confirm.length > 0 && confirm !== password;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirm) return;
    return run(async () => {
      await apiRequest('POST', '/auth/password-reset/confirm', { body: { token: props.token, password }, noRedirect: true });
      window.history.replaceState(null, '', window.location.pathname);
      setDone(true);
    });
  };

  return (
    <AuthShell title="Choose a new password">
      {done ? (
        <div className="stack">
          <Notice tone="ok">Your password is changed. Every session of your account was signed out.</Notice>
          <p>
            <Link to="/login">Sign in with the new password</Link>
          </p>
        </div>
      ) : (
        <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
          <Field label="New password" hint="At least 12 characters." error={fieldError(error, 'password')}>
            <input type="password" name="password" autoComplete="new-password" required minLength={12} maxLength={256} autoFocus value={password} onChange={(event) => setPassword(event.target.value)} />
          </Field>
          <Field label="Repeat the new password" error={mismatch ? 'The two passwords differ.' : null}>
            <input type="password" name="confirm" autoComplete="new-password" required value={confirm} onChange={(event) => setConfirm(event.target.value)} />
          </Field>
          <FormError error={error} fields={['password']} />
          {isApiError(error) && error.param === 'token' && (
            <p className="small">
              Reset links work once and for one hour. <Link to="/reset">Ask for a new link</Link>.
            </p>
          )}
          <button type="submit" className="button button-primary" disabled={busy || password.length < 12 || password !== confirm}>
            {busy ? 'Saving…' : 'Set the new password'}
          </button>
        </form>
      )}
    </AuthShell>
  );
}
