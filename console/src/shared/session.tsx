import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, setCsrfToken, setSessionLoader } from './api';

/** `GET {base}/auth/session` (admin contract). The SPA loads it first and keeps `csrf_token` for every mutation. */
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

interface SessionContextValue {
  session: Session;
  /** Applies a login/TOTP/enrollment answer (new CSRF token, state, admin) without another round trip. */
  applyChange: (change: SessionChange) => void;
  /** Reloads the session from the server. */
  reload: () => Promise<unknown>;
  /** Signs out (the server deletes the session), drops every cached answer and loads the new anonymous session. */
  signOut: () => Promise<void>;
  /** True once this tab signed out (until the next sign-in): the sign-in page then needs no `?next=`. */
  signedOut: boolean;
}

const SessionContext = createContext<SessionContextValue | null>(null);
export const SESSION_KEY = ['auth', 'session'] as const;

async function loadSession(): Promise<Session> {
  const session = await api.get<Session>('/auth/session');
  setCsrfToken(session.csrf_token);
  return session;
}

/**
 * Loads the session before rendering its children (they get a `Session` that is never undefined) and keeps the CSRF
 * token of the api client in step with it. `fallback` renders while loading, `renderError` if it cannot be loaded.
 */
export function SessionProvider(props: { children: ReactNode; fallback: ReactNode; renderError: (error: Error, retry: () => void) => ReactNode }) {
  const client = useQueryClient();
  const [signedOut, setSignedOut] = useState(false);
  const query = useQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: Infinity, retry: 1 });

  const reload = useCallback(() => client.fetchQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: 0 }), [client]);

  useEffect(() => {
    setSessionLoader(reload);
  }, [reload]);

  const applyChange = useCallback(
    (change: SessionChange) => {
      setCsrfToken(change.csrf_token);
      setSignedOut(false);
      client.setQueryData<Session>(SESSION_KEY, (old) => ({
        ...(old ?? { idle_expires_at: null, absolute_expires_at: null }),
        state: change.state,
        csrf_token: change.csrf_token,
        admin: change.admin === undefined ? (old?.admin ?? null) : change.admin,
      }));
    },
    [client],
  );

  const signOut = useCallback(async () => {
    try {
      await api.post<void>('/auth/logout');
    } finally {
      // Forget every cached answer, then load the new anonymous session (and its CSRF token).
      client.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
      setCsrfToken(null);
      setSignedOut(true);
      await reload().catch(() => undefined);
    }
  }, [client, reload]);

  const value = useMemo(
    () => (query.data ? { session: query.data, applyChange, reload, signOut, signedOut } : null),
    [query.data, applyChange, reload, signOut, signedOut],
  );

  if (query.isPending) return <>{props.fallback}</>;
  if (query.isError || !value) return <>{props.renderError(query.error ?? new Error('No session'), () => void query.refetch())}</>;
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

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
