import { useState, type ReactElement, type ReactNode } from 'react';
import { Link, Navigate, Outlet, Route, Routes, useLocation } from 'react-router';
import { ErrorState, Loading } from './Feedback';
import { Layout, type NavItem } from './Layout';
import { PageHeader } from './Page';

/**
 * The route shell both console apps share: the open pages (sign-in, …), and every other page behind sign-in inside the
 * Layout, optionally below a banner; an unknown address inside the app is a "Page not found" page. The app's
 * SessionProvider (shared/session.tsx) shows `SESSION_SCREENS` while the session loads or when it cannot be loaded.
 */
export interface PageRoute {
  /** Relative to the app's base ('' = its home page). */
  path: string;
  element: ReactElement;
}

export const SESSION_SCREENS = {
  fallback: (
    <div className="full-page">
      <Loading label="Loading the console…" />
    </div>
  ),
  renderError: (error: Error, retry: () => void) => (
    <div className="full-page">
      <ErrorState title="The console could not reach the server." error={error} retry={retry} />
    </div>
  ),
};

export function AppRoutes(props: {
  authenticated: boolean;
  signedOut: boolean;
  openPages: PageRoute[];
  pages: PageRoute[];
  /** The signed-in frame (a `SignedInLayout`). */
  layout: ReactElement;
  /** Shown above every signed-in page (the customer console's "verify your email"). */
  banner?: ReactNode;
  /** The home page's name in the not-found page's link: "the dashboard". */
  home: string;
}) {
  const pages = (
    <>
      {props.pages.map((page) => (
        <Route key={page.path} index={page.path === ''} path={page.path === '' ? undefined : page.path} element={page.element} />
      ))}
      <Route path="*" element={<NotFound home={props.home} />} />
    </>
  );
  return (
    <Routes>
      {props.openPages.map((page) => (
        <Route key={page.path} path={page.path} element={page.element} />
      ))}
      <Route
        element={
          <RequireAuth authenticated={props.authenticated} signedOut={props.signedOut}>
            {props.layout}
          </RequireAuth>
        }
      >
        {props.banner ? <Route element={<WithBanner banner={props.banner} />}>{pages}</Route> : pages}
      </Route>
    </Routes>
  );
}

/** Not signed in: to the sign-in page, with `?next=` the address asked for (not after signing out here). */
function RequireAuth(props: { authenticated: boolean; signedOut: boolean; children: ReactNode }) {
  const location = useLocation();
  if (!props.authenticated) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login${next === '/' || props.signedOut ? '' : `?next=${encodeURIComponent(next)}`}`} replace />;
  }
  return <>{props.children}</>;
}

function WithBanner(props: { banner: ReactNode }) {
  return (
    <>
      {props.banner}
      <Outlet />
    </>
  );
}

/** The Layout with the signed-in person (email, role) and a sign-out button that waits for the server. */
export function SignedInLayout(props: { brand: ReactNode; nav: NavItem[]; who: { email: string; role: string } | null; signOut: () => Promise<void> }) {
  const [signingOut, setSigningOut] = useState(false);
  return (
    <Layout
      brand={props.brand}
      nav={props.nav}
      user={
        props.who && (
          <div>
            <div className="who">{props.who.email}</div>
            <div className="muted small">Role: {props.who.role}</div>
          </div>
        )
      }
      signingOut={signingOut}
      onSignOut={() => {
        setSigningOut(true);
        // Once the session is anonymous, RequireAuth sends the browser to /login.
        void props.signOut().finally(() => setSigningOut(false));
      }}
    />
  );
}

function NotFound(props: { home: string }) {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is no console page at this address. <Link to="/">Go to {props.home}</Link>.
      </p>
    </>
  );
}
