import { useState, type ReactNode } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { ErrorState, Layout, Loading, PageHeader } from '../shared/components';
import { SessionProvider, useSession } from '../shared/session';
import { NAV } from './nav';
import { EnrollPage } from './pages/Enroll';
import { LoginPage } from './pages/Login';
import { PAGES } from './routes';

/**
 * Routing: /login and /enroll are open; everything else needs an authenticated session and renders inside the
 * Layout. The session (and with it the CSRF token) is loaded once before anything renders.
 */
export function App() {
  return (
    <SessionProvider
      fallback={
        <div className="full-page">
          <Loading label="Loading the console…" />
        </div>
      }
      renderError={(error, retry) => (
        <div className="full-page">
          <ErrorState title="The console could not reach the server." error={error} retry={retry} />
        </div>
      )}
    >
      <Routes>
        <Route path="login" element={<LoginPage />} />
        <Route path="enroll" element={<EnrollPage />} />
        <Route
          element={
            <RequireAuth>
              <SignedInLayout />
            </RequireAuth>
          }
        >
          {PAGES.map((page) => (
            <Route key={page.path} index={page.path === ''} path={page.path === '' ? undefined : page.path} element={page.element} />
          ))}
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </SessionProvider>
  );
}

function RequireAuth(props: { children: ReactNode }) {
  const { session, signedOut } = useSession();
  const location = useLocation();
  if (session.state !== 'authenticated') {
    const next = location.pathname + location.search;
    return <Navigate to={`/login${next === '/' || signedOut ? '' : `?next=${encodeURIComponent(next)}`}`} replace />;
  }
  return <>{props.children}</>;
}

function SignedInLayout() {
  const { session, signOut } = useSession();
  const [signingOut, setSigningOut] = useState(false);
  const admin = session.admin;
  return (
    <Layout
      brand={
        <>
          genrelay
          <small>Operator console</small>
        </>
      }
      nav={NAV}
      user={
        admin && (
          <div>
            <div className="who">{admin.email}</div>
            <div className="muted small">Role: {admin.role}</div>
          </div>
        )
      }
      signingOut={signingOut}
      onSignOut={() => {
        setSigningOut(true);
        // Once the session is anonymous, RequireAuth sends the browser to /login.
        void signOut().finally(() => setSigningOut(false));
      }}
    />
  );
}

function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is no console page at this address. <Link to="/">Go to the dashboard</Link>.
      </p>
    </>
  );
}
