import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { AuthShell, PasswordStep, SecondFactorStep } from '../../shared/components';
import { safeNext } from '../../shared/hooks';
import { useSession, type SessionChange } from '../session';

/**
 * Sign-in: email + password (→ `mfa_pending`), then the authentication code or a recovery code (→ `authenticated`),
 * with the steps both consoles share (shared/components/SignIn.tsx).
 */
export function LoginPage() {
  const { session, applyChange, reload, signOut } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'), '/admin');

  if (session.state === 'authenticated') return <Navigate to={next} replace />;

  return (
    <AuthShell title="Sign in" subtitle="genrelay operator console">
      {session.state === 'mfa_pending' ? (
        <SecondFactorStep<SessionChange>
          recoveryHint="One of the ten codes you saved when you enrolled. Each works once."
          onDone={(change) => {
            applyChange(change);
            navigate(next, { replace: true });
          }}
          onExpired={() => void reload()}
          onStartOver={() => void signOut()}
        />
      ) : (
        <PasswordStep<{ csrf_token: string }> submitLabel="Continue" onDone={(answer) => applyChange({ state: 'mfa_pending', csrf_token: answer.csrf_token })} />
      )}
    </AuthShell>
  );
}
