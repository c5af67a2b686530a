import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { apiRequest, isApiError } from '../../../shared/api';
import { AuthShell, Loading, Notice } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { useHashParam } from '../../components';
import { useCustomerSession } from '../../session';

/** /console/verify#token=… — verifies the email once (the token is single use) and says what happened. */
export function VerifyPage() {
  const token = useHashParam('token');
  const { session, reload } = useCustomerSession();
  const [state, setState] = useState<'working' | 'done' | 'failed'>(token ? 'working' : 'failed');
  const [message, setMessage] = useState<string | null>(token ? null : 'This link has no verification token. Open the link from the mail as it is.');
  const [granted, setGranted] = useState<number | null>(null);
  const sent = useRef(false);

  useEffect(() => {
    if (!token || sent.current) return;
    sent.current = true;
    apiRequest<{ credits_granted?: number }>('POST', '/auth/verify', { body: { token }, noRedirect: true })
      .then((answer) => {
        setGranted(answer?.credits_granted ?? null);
        setState('done');
        // Drop the token from the address bar and history.
        window.history.replaceState(null, '', window.location.pathname);
        void reload();
      })
      .catch((caught: unknown) => {
        setState('failed');
        setMessage(isApiError(caught) ? caught.message : 'The server could not be reached.');
      });
  }, [token, reload]);

  const signedIn = session.state === 'authenticated';
  return (
    <AuthShell title="Verify your email">
      {state === 'working' && <Loading label="Verifying…" />}
      {state === 'done' && (
        <div className="stack">
          <Notice tone="ok">Your email address is verified.</Notice>
          {granted !== null && (
            <p>
              {granted > 0
                ? `${formatCredits(granted)} of test credits are in your test wallet: create a test key and try any model.`
                : 'This address has had its sign-up test credits already, so none were added.'}
            </p>
          )}
          <p>{signedIn ? <Link to="/">Continue to the console</Link> : <Link to="/login">Sign in</Link>}</p>
        </div>
      )}
      {state === 'failed' && (
        <div className="stack">
          <div className="form-error" role="alert">
            {message ?? 'This link is not valid.'}
          </div>
          <p className="small">
            Links are valid for 24 hours and work once. {signedIn ? <Link to="/">Back to the console</Link> : <Link to="/login">Sign in</Link>} to send a new one.
          </p>
        </div>
      )}
    </AuthShell>
  );
}
