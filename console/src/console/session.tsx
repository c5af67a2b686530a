import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, setCsrfToken, setSessionLoader } from '../shared/api';
import type { ConsoleSession, SessionChange } from './types';

/**
 * The customer session (`GET /console/api/auth/session`): loaded once before anything renders; its `csrf_token` goes
 * to the api client for every mutation. Same pattern as the operator's shared/session.tsx, with the customer's shape
 * (`user`, `customer`, `signup_mode`) and roles `owner` / `member`.
 */
interface SessionContextValue {
  session: ConsoleSession;
  /** Applies a sign-up / login / TOTP answer (new CSRF token and state) without another round trip. */
  applyChange: (change: SessionChange) => void;
  reload: () => Promise<unknown>;
  signOut: () => Promise<void>;
  signedOut: boolean;
}

const SessionContext = createContext<SessionContextValue | null>(null);
const SESSION_KEY = ['auth', 'session'] as const;

async function loadSession(): Promise<ConsoleSession> {
  const session = await api.get<ConsoleSession>('/auth/session');
  setCsrfToken(session.csrf_token);
  return session;
}

export function CustomerSessionProvider(props: { children: ReactNode; fallback: ReactNode; renderError: (error: Error, retry: () => void) => ReactNode }) {
  const client = useQueryClient();
  const [signedOut, setSignedOut] = useState(false);
  const query = useQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: Infinity, retry: 1 });
  const reload = useCallback(() => client.fetchQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: 0 }), [client]);

  useEffect(() => {
    setSessionLoader(reload);
  }, [reload]);

  const applyChange = useCallback(
    (change: SessionChange) => {
      if (change.csrf_token) setCsrfToken(change.csrf_token);
      setSignedOut(false);
      // Anything but a plain state change (user and customer missing) is completed by reloading the session.
      if (change.state === 'verify_email' || (change.state === 'authenticated' && change.user === undefined)) {
        void reload();
        return;
      }
      client.setQueryData<ConsoleSession>(SESSION_KEY, (old) =>
        old
          ? {
              ...old,
              state: change.state as ConsoleSession['state'],
              csrf_token: change.csrf_token ?? old.csrf_token,
              user: change.user === undefined ? old.user : change.user,
              customer: change.customer === undefined ? old.customer : change.customer,
            }
          : old,
      );
    },
    [client, reload],
  );

  const signOut = useCallback(async () => {
    try {
      await api.post<void>('/auth/logout');
    } finally {
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

export function useCustomerSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useCustomerSession outside CustomerSessionProvider');
  return value;
}

/** True for the customer's owners (team management, the webhook signing secret); the server enforces it too. */
export function useIsOwner(): boolean {
  const { session } = useCustomerSession();
  return session.state === 'authenticated' && session.user?.role === 'owner';
}

export function OwnerOnly(props: { children: ReactNode; fallback?: ReactNode }) {
  return <>{useIsOwner() ? props.children : (props.fallback ?? null)}</>;
}
