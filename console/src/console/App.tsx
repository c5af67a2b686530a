import { AppRoutes, SESSION_SCREENS, SignedInLayout } from '../shared/components';
import { VerifyBanner } from './components';
import { NAV } from './nav';
import { LoginPage } from './pages/auth/Login';
import { ResetPage } from './pages/auth/Reset';
import { SignupPage } from './pages/auth/Signup';
import { VerifyPage } from './pages/auth/Verify';
import { PAGES } from './routes';
import { CustomerSessionProvider, useCustomerSession } from './session';

/**
 * Routing (shared/components/AppShell.tsx): /signup, /verify, /login and /reset are open; everything else needs an
 * authenticated customer session and renders inside the Layout, below the "verify your email" notice while the
 * address is not verified. The session (and its CSRF token) is loaded once before anything renders.
 */
export function App() {
  return (
    <CustomerSessionProvider {...SESSION_SCREENS}>
      <Shell />
    </CustomerSessionProvider>
  );
}

const OPEN_PAGES = [
  { path: 'login', element: <LoginPage /> },
  { path: 'signup', element: <SignupPage /> },
  { path: 'verify', element: <VerifyPage /> },
  { path: 'reset', element: <ResetPage /> },
];

function Shell() {
  const { session, signedOut, signOut } = useCustomerSession();
  return (
    <AppRoutes
      authenticated={session.state === 'authenticated'}
      signedOut={signedOut}
      openPages={OPEN_PAGES}
      pages={PAGES}
      home="the overview"
      banner={<VerifyBanner />}
      layout={
        <SignedInLayout
          brand={
            <>
              genrelay
              <small>{session.customer?.name ?? 'Console'}</small>
            </>
          }
          nav={NAV}
          who={session.user}
          signOut={signOut}
        />
      }
    />
  );
}
