import { NavLink, Outlet } from 'react-router';
import { Suspense, type ReactNode } from 'react';
import { Loading } from './Feedback';

export interface NavItem {
  to: string;
  label: string;
  /** Match the path exactly (the dashboard at `/`). */
  end?: boolean;
}

/**
 * The signed-in frame: a skip link, the left column (brand, the signed-in person with a sign-out button, the
 * navigation) and the page (`<Outlet />`, in a Suspense boundary for lazily loaded pages) in `<main>`. The column
 * scrolls with the page (no sticky positioning), so full-page screenshots come out whole.
 */
export function Layout(props: { brand: ReactNode; nav: NavItem[]; user: ReactNode; onSignOut: () => void; signingOut?: boolean }) {
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">{props.brand}</div>
        <div className="sidebar-user">
          {props.user}
          <button type="button" className="button button-small" onClick={props.onSignOut} disabled={props.signingOut}>
            {props.signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </div>
        <nav aria-label="Main">
          <ul className="nav">
            {props.nav.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.end} className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
