import type { ReactNode } from 'react';
import { createSession } from '../shared/session';

/** The operator console's session (`GET /admin/api/auth/session`, the admin contract), on shared/session.tsx. */
export type Role = 'owner' | 'operator' | 'viewer';

export interface SessionAdmin {
  id: string;
  email: string;
  role: Role;
  totp_enrolled: boolean;
}

export interface Session {
  state: 'anonymous' | 'mfa_pending' | 'authenticated';
  csrf_token: string;
  admin: SessionAdmin | null;
  idle_expires_at?: string | null;
  absolute_expires_at?: string | null;
}

/** What login / TOTP / enrollment answer: a new state and a new CSRF token (the session id rotated). */
export interface SessionChange {
  state: Session['state'];
  csrf_token: string;
  admin?: SessionAdmin | null;
}

export const { SessionProvider, useSession } = createSession<Session, SessionChange>({
  merge: (old, change) => ({
    ...(old ?? { idle_expires_at: null, absolute_expires_at: null }),
    state: change.state,
    csrf_token: change.csrf_token,
    admin: change.admin === undefined ? (old?.admin ?? null) : change.admin,
  }),
});

/** The signed-in admin's role, or null when not signed in. */
export function useRole(): Role | null {
  const { session } = useSession();
  return session.state === 'authenticated' ? (session.admin?.role ?? null) : null;
}

/** Viewers read only (the server refuses their mutations with 403 too). */
export function useCanWrite(): boolean {
  const role = useRole();
  return role === 'owner' || role === 'operator';
}

/**
 * Hides controls the signed-in admin may not use. This is only a courtesy: the server refuses a viewer's mutation
 * (403 `forbidden`) and a non-owner's admin management regardless.
 */
export function CanWrite(props: { children: ReactNode; fallback?: ReactNode }) {
  return <>{useCanWrite() ? props.children : (props.fallback ?? null)}</>;
}

export function OwnerOnly(props: { children: ReactNode; fallback?: ReactNode }) {
  return <>{useRole() === 'owner' ? props.children : (props.fallback ?? null)}</>;
}
