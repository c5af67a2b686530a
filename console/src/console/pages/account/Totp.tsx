import { useState, type FormEvent } from 'react';
import { Badge, CopyButton, Field, fieldError, FormError, Modal, Section, SafeSvg } from '../../../shared/components';
import { downloadText } from '../../../shared/hooks';
import { useApiMutation } from '../../../shared/query';
import { useCustomerSession } from '../../session';

/**
 * Optional two-step sign-in: start (→ QR code and the secret as text), confirm with a code (→ recovery codes, shown
 * once), or turn it off with the password.
 */
export function TotpSection() {
  const { session, reload } = useCustomerSession();
  const enabled = session.user?.totp_enabled ?? false;
  const [enrolling, setEnrolling] = useState(false);
  const [disabling, setDisabling] = useState(false);
  return (
    <Section title={<>Two-step sign-in {enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>}</>}>
      <p className="small">
        {enabled
          ? 'Signing in asks for a code from your authenticator app after the password.'
          : 'Ask for a code from an authenticator app (any TOTP app) after the password.'}
      </p>
      <div>
        {enabled ? (
          <button type="button" className="button" onClick={() => setDisabling(true)}>
            Turn off two-step sign-in
          </button>
        ) : (
          <button type="button" className="button button-primary" onClick={() => setEnrolling(true)}>
            Turn on two-step sign-in
          </button>
        )}
      </div>
      <Modal open={enrolling} title="Turn on two-step sign-in" onClose={() => setEnrolling(false)} wide>
        {enrolling && (
          <Enroll
            onClose={() => {
              setEnrolling(false);
              void reload();
            }}
          />
        )}
      </Modal>
      <Modal open={disabling} title="Turn off two-step sign-in" onClose={() => setDisabling(false)}>
        {disabling && (
          <Disable
            onCancel={() => setDisabling(false)}
            onDone={() => {
              setDisabling(false);
              void reload();
            }}
          />
        )}
      </Modal>
    </Section>
  );
}

interface Start {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

function Enroll(props: { onClose: () => void }) {
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const start = useApiMutation<void, Start>({ method: 'POST', path: '/account/totp/start', body: () => ({}) });
  const confirm = useApiMutation<{ code: string }, { recovery_codes: string[] }>({
    method: 'POST',
    path: '/account/totp/confirm',
    onSuccess: (answer) => setCodes(answer.recovery_codes),
  });

  if (codes) {
    const text = codes.join('\n');
    return (
      <div className="stack">
        <p>
          Two-step sign-in is on. Keep these recovery codes somewhere safe: each one signs you in once if you lose your authenticator. They
          are shown only now.
        </p>
        <ul className="recovery-codes" aria-label="Recovery codes">
          {codes.map((item) => (
            <li key={item}>{item}</li>
          ))}
        </ul>
        <div className="actions">
          <CopyButton text={text} label="Copy the codes" />
          <button type="button" className="button" onClick={() => downloadText('genrelay-recovery-codes.txt', text)}>
            Download
          </button>
          <button type="button" className="button button-primary" onClick={props.onClose}>
            I have saved them
          </button>
        </div>
      </div>
    );
  }

  if (!start.data) {
    return (
      <div className="stack">
        <p>You will scan a QR code with your authenticator app, then enter the code it shows.</p>
        <FormError error={start.error} />
        <div className="actions">
          <button type="button" className="button button-primary" data-autofocus disabled={start.isPending} onClick={() => start.mutate()}>
            {start.isPending ? 'Starting…' : 'Show the QR code'}
          </button>
        </div>
      </div>
    );
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    confirm.mutate({ code: code.replace(/\s+/g, '') });
  };
  return (
    <div className="enroll-grid">
      <SafeSvg className="qr" svg={start.data.qr_svg} title="QR code for your authenticator app" />
      <form className="stack" onSubmit={submit} noValidate>
        <p className="small">Scan the QR code, or type this secret into the app:</p>
        <div className="secret-row">
          <code className="mono secret-text">{start.data.secret}</code>
          <CopyButton text={start.data.secret} label="Copy" />
        </div>
        <Field label="Authentication code" hint="The 6-digit code the app shows now." error={fieldError(confirm.error, 'code')}>
          <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={7} data-autofocus value={code} onChange={(event) => setCode(event.target.value)} />
        </Field>
        <FormError error={confirm.error} fields={['code']} />
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={confirm.isPending || code.trim().length < 6}>
            {confirm.isPending ? 'Checking…' : 'Turn on'}
          </button>
        </div>
      </form>
    </div>
  );
}

function Disable(props: { onCancel: () => void; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const disable = useApiMutation<{ password: string }>({ method: 'DELETE', path: '/account/totp', body: (vars) => vars, onSuccess: props.onDone });
  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        disable.mutate({ password });
      }}
      noValidate
    >
      <p>Signing in will ask for the password only. Your recovery codes stop working.</p>
      <Field label="Password" error={fieldError(disable.error, 'password')}>
        <input type="password" name="password" autoComplete="current-password" data-autofocus value={password} onChange={(event) => setPassword(event.target.value)} />
      </Field>
      <FormError error={disable.error} fields={['password']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-danger" disabled={disable.isPending || !password}>
          {disable.isPending ? 'Turning off…' : 'Turn off'}
        </button>
      </div>
    </form>
  );
}
