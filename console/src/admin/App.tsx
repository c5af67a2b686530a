import { AppRoutes, SESSION_SCREENS, SignedInLayout } from '../shared/components';
import { NAV } from './nav';
import { EnrollPage } from './pages/Enroll';
import { LoginPage } from './pages/Login';
import { PAGES } from './routes';
import { SessionProvider, useSession } from './session';

/**
 * Routing (shared/components/AppShell.tsx): /login and /enroll are open; everything else needs an authenticated
 * session and renders inside the Layout. The session (and with it the CSRF token) is loaded once before anything
 * renders.
 */
export function App() {
  return (
    <SessionProvider {...SESSION_SCREENS}>
      <Shell />
    </SessionProvider>
  );
}

const OPEN_PAGES = [
  { path: 'login', element: <LoginPage /> },
  { path: 'enroll', element: <EnrollPage /> },
];

function Shell() {
  const { session, signedOut, signOut } = useSession();
  return (
    <AppRoutes
      authenticated={session.state === 'authenticated'}
      signedOut={signedOut}
      openPages={OPEN_PAGES}
      pages={PAGES}
      home="the dashboard"
      layout={
        <SignedInLayout
          brand={
            <>
              genrelay
              <small>Operator console</small>
            </>
          }
          nav={NAV}
          who={session.admin}
          signOut={signOut}
        />
      }
    />
  );
}
