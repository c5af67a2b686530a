import { useRef, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { apiRequest, isApiError } from '../../shared/api';
import { AuthShell, CopyButton, ErrorState, Field, FormError, Loading, SafeSvg, fieldError } from '../../shared/components';
import { downloadText } from '../../shared/hooks';
import { useSession, type SessionAdmin } from '../session';

/**
 * Enrollment from a one-time link `/admin/enroll#token=…` (an invitation or a TOTP reset). The token stays in the
 * fragment (never sent in a URL to the server). Steps: `enroll/start` → QR code and the secret as text → password
 * (twice, when required) and the first authentication code → `enroll/finish` → the 10 recovery codes, once.
 */
interface EnrollStart {
  email: string;
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
  password_required: boolean;
}

interface EnrollFinish {
  state: 'authenticated';
  csrf_token: string;
  admin: SessionAdmin;
  recovery_codes: string[];
}

function tokenFromHash(): string | null {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = params.get('token');
  return token && token.length <= 512 ? token : null;
}

export function EnrollPage() {
  const [token] = useState(tokenFromHash);
  const [codes, setCodes] = useState<string[] | null>(null);

  // Each enroll/start makes a fresh secret: ask once per token, never refetch behind the user's back.
  const start = useQuery({
    queryKey: ['auth', 'enroll', token],
    queryFn: () => apiRequest<EnrollStart>('POST', '/auth/enroll/start', { body: { token }, noRedirect: true }),
    enabled: token !== null && codes === null,
    staleTime: Infinity,
    gcTime: Infinity,
    retry: false,
    refetchOnMount: false,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });

  let content;
  if (codes) content = <RecoveryCodes codes={codes} />;
  else if (!token) content = <BadLink />;
  else if (start.isPending) content = <Loading label="Preparing your authenticator secret…" />;
  else if (start.isError) {
    content = isApiError(start.error) && start.error.status === 404 ? <BadLink /> : <ErrorState error={start.error} />;
  } else content = <EnrollForm token={token} start={start.data} onDone={setCodes} />;

  return (
    <AuthShell title="Set up sign-in" subtitle="genrelay operator console" wide>
      {content}
    </AuthShell>
  );
}

function BadLink() {
  return (
    <div className="stack">
      <p>This enrollment link is not valid: it may have been used already or expired (links last 24 hours).</p>
      <p>Ask an owner for a new link, or run <code>genrelay admin create --email you@example.com</code> on the server.</p>
      <p>
        <Link to="/login">Go to sign-in</Link>
      </p>
    </div>
  );
}

function EnrollForm(props: { token: string; start: EnrollStart; onDone: (codes: string[]) => void }) {
  const { applyChange } = useSession();
  const { start } = props;
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [mismatch, setMismatch] = useState(false);
  const secretRef = useRef<HTMLInputElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (start.password_required && password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setBusy(true);
    setError(null);
    try {
      const answer = await apiRequest<EnrollFinish>('POST', '/auth/enroll/finish', {
        body: { token: props.token, code: code.replace(/\s+/g, ''), ...(start.password_required ? { password } : {}) },
        noRedirect: true,
      });
      applyChange({ state: answer.state, csrf_token: answer.csrf_token, admin: answer.admin });
      props.onDone(answer.recovery_codes);
    } catch (caught) {
      setError(caught);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  const codeError = isApiError(error) && error.code === 'invalid_code'
    ? 'That code does not match. Check that the device clock is right and enter the current code.'
    : fieldError(error, 'code');
  const passwordError = fieldError(error, 'password');
  const otherError = error && !codeError && !passwordError ? error : null;
  const grouped = start.secret.replace(/(.{4})/g, '$1 ').trim();

  return (
    <form className="stack" onSubmit={(event) => void submit(event)} noValidate>
      <p>
        Signing up <strong>{start.email}</strong>. Scan the QR code with an authenticator app (or type the secret into
        it), then enter the code it shows.
      </p>
      <div className="enroll-grid">
        <SafeSvg className="qr" svg={start.qr_svg} title={`QR code for ${start.email}`} />
        <div className="stack">
          <div className="secret-once">
            <label htmlFor="totp-secret">Secret (for typing into the app)</label>
            <div className="secret-row">
              <input id="totp-secret" ref={secretRef} className="mono" readOnly autoComplete="off" spellCheck={false} value={grouped} onFocus={(event) => event.target.select()} />
              <CopyButton text={start.secret} fallbackTarget={() => secretRef.current} />
            </div>
            <p className="muted small">Time-based, SHA-1, 6 digits, 30 seconds (the defaults of every authenticator app).</p>
          </div>
          <p className="small">
            On a phone: <a href={start.otpauth_uri}>open in the authenticator app</a>.
          </p>
        </div>
      </div>
      {start.password_required && (
        <>
          <Field label="Password" hint="12 to 256 characters." error={passwordError}>
            <input type="password" name="new-password" autoComplete="new-password" required minLength={12} maxLength={256} value={password} onChange={(event) => setPassword(event.target.value)} />
          </Field>
          <Field label="Repeat the password" error={mismatch ? 'The two passwords are different.' : null}>
            <input type="password" name="confirm-password" autoComplete="new-password" required value={confirm} onChange={(event) => setConfirm(event.target.value)} />
          </Field>
        </>
      )}
      <Field label="Authentication code" hint="The 6-digit code your app shows now." error={codeError}>
        <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} required value={code} onChange={(event) => setCode(event.target.value)} />
      </Field>
      <FormError error={otherError} />
      <button
        type="submit"
        className="button button-primary"
        disabled={busy || !code.trim() || (start.password_required && (password.length === 0 || confirm.length === 0))}
      >
        {busy ? 'Checking…' : 'Finish setup'}
      </button>
    </form>
  );
}

function RecoveryCodes(props: { codes: string[] }) {
  const navigate = useNavigate();
  const text = `genrelay recovery codes (each works once)\n\n${props.codes.join('\n')}\n`;
  return (
    <div className="stack">
      <div className="notice notice-ok" role="status">
        Your sign-in is set up and you are signed in.
      </div>
      <h2>Recovery codes</h2>
      <p>
        If you lose your authenticator, each of these codes signs you in once instead of an authentication code. Keep
        them somewhere safe.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {props.codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <p className="warning" role="note">
        Save them now: they will not be shown again.
      </p>
      <div className="actions">
        <CopyButton text={props.codes.join('\n')} label="Copy codes" />
        <button type="button" className="button" onClick={() => downloadText('genrelay-recovery-codes.txt', text)}>
          Download
        </button>
        <button type="button" className="button button-primary" onClick={() => navigate('/', { replace: true })}>
          Continue to the console
        </button>
      </div>
    </div>
  );
}
