import { Link, Navigate, useSearchParams } from 'react-router';
import { AuthShell, PasswordStep, SecondFactorStep } from '../../../shared/components';
import { safeNext } from '../../../shared/hooks';
import { useCustomerSession } from '../../session';
import type { SessionChange } from '../../types';

/**
 * Sign-in: email + password (→ `authenticated`, or `mfa_pending` when the user turned on TOTP), then the
 * authentication code or a recovery code, with the steps both consoles share (shared/components/SignIn.tsx).
 */
export function LoginPage() {
  const { session, applyChange, reload, signOut } = useCustomerSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'), '/console');

  if (session.state === 'authenticated') return <Navigate to={next} replace />;

  return (
    <AuthShell title="Sign in">
      {session.state === 'mfa_pending' ? (
        <SecondFactorStep<SessionChange>
          recoveryHint="One of the codes you saved when you turned on two-step sign-in. Each works once."
          onDone={(answer) => applyChange({ ...answer, state: 'authenticated' })}
          onExpired={() => void reload()}
          onStartOver={() => void signOut()}
        />
      ) : (
        <>
          <PasswordStep<SessionChange> submitLabel="Sign in" onDone={applyChange} />
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
