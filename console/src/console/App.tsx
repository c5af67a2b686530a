import { useState, type ReactNode } from 'react';
import { Link, Navigate, Outlet, Route, Routes, useLocation } from 'react-router';
import { ErrorState, Layout, Loading, PageHeader } from '../shared/components';
import { NAV } from './nav';
import { VerifyBanner } from './components';
import { LoginPage } from './pages/auth/Login';
import { ResetPage } from './pages/auth/Reset';
import { SignupPage } from './pages/auth/Signup';
import { VerifyPage } from './pages/auth/Verify';
import { PAGES } from './routes';
import { CustomerSessionProvider, useCustomerSession } from './session';

/**
 * Routing: /signup, /verify, /login and /reset are open; everything else needs an authenticated customer session and
 * renders inside the Layout. The session (and its CSRF token) is loaded once before anything renders.
 */
export function App() {
  return (
    <CustomerSessionProvider
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
        <Route path="signup" element={<SignupPage />} />
        <Route path="verify" element={<VerifyPage />} />
        <Route path="reset" element={<ResetPage />} />
        <Route
          element={
            <RequireAuth>
              <SignedInLayout />
            </RequireAuth>
          }
        >
          <Route element={<WithVerifyBanner />}>
            {PAGES.map((page) => (
              <Route key={page.path} index={page.path === ''} path={page.path === '' ? undefined : page.path} element={page.element} />
            ))}
            <Route path="*" element={<NotFound />} />
          </Route>
        </Route>
      </Routes>
    </CustomerSessionProvider>
  );
}

function RequireAuth(props: { children: ReactNode }) {
  const { session, signedOut } = useCustomerSession();
  const location = useLocation();
  if (session.state !== 'authenticated') {
    const next = location.pathname + location.search;
    return <Navigate to={`/login${next === '/' || signedOut ? '' : `?next=${encodeURIComponent(next)}`}`} replace />;
  }
  return <>{props.children}</>;
}

function SignedInLayout() {
  const { session, signOut } = useCustomerSession();
  const [signingOut, setSigningOut] = useState(false);
  const user = session.user;
  return (
    <Layout
      brand={
        <>
          genrelay
          <small>{session.customer?.name ?? 'Console'}</small>
        </>
      }
      nav={NAV}
      user={
        user && (
          <div>
            <div className="who">{user.email}</div>
            <div className="muted small">Role: {user.role}</div>
          </div>
        )
      }
      signingOut={signingOut}
      onSignOut={() => {
        setSigningOut(true);
        void signOut().finally(() => setSigningOut(false));
      }}
    />
  );
}

/** Every signed-in page, below the "verify your email" notice while the address is not verified. */
function WithVerifyBanner() {
  return (
    <>
      <VerifyBanner />
      <Outlet />
    </>
  );
}

function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is no console page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}
