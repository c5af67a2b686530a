import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, pauseSignInRedirect, setCsrfToken, setSessionLoader } from './api';

/**
 * The session of a console app (`GET {base}/auth/session`), generic over its shape: the operator console's
 * (admin/session.tsx: `admin`, roles owner/operator/viewer) and the customer console's (console/session.tsx: `user`,
 * `customer`, `signup_mode`). The SPA loads it first, before anything renders, and keeps its `csrf_token` in the api
 * client for every mutation. Each app makes its provider and hook once with `createSession`.
 */
export interface SessionBase {
  state: 'anonymous' | 'mfa_pending' | 'authenticated';
  csrf_token: string;
}

/** What every sign-in step answers at least: a new CSRF token when the session id rotated. */
export interface SessionChangeBase {
  csrf_token?: string;
}

export interface SessionContextValue<S extends SessionBase, C extends SessionChangeBase> {
  session: S;
  /** Applies a sign-in / TOTP / enrollment answer (new CSRF token, state, …) without another round trip. */
  applyChange: (change: C) => void;
  /** Reloads the session from the server. */
  reload: () => Promise<unknown>;
  /** Signs out (the server deletes the session), drops every cached answer and loads the new anonymous session. */
  signOut: () => Promise<void>;
  /** True once this tab signed out (until the next sign-in): the sign-in page then needs no `?next=`. */
  signedOut: boolean;
}

export interface SessionOptions<S extends SessionBase, C extends SessionChangeBase> {
  /** Folds an answer into the cached session (`old` is undefined before the first load). */
  merge: (old: S | undefined, change: C) => S | undefined;
  /** True for answers only the server can complete (the customer's sign-up): the session is reloaded instead. */
  reloadOn?: (change: C) => boolean;
}

export interface SessionProviderProps {
  children: ReactNode;
  /** Rendered while the session loads. */
  fallback: ReactNode;
  /** Rendered when the session cannot be loaded. */
  renderError: (error: Error, retry: () => void) => ReactNode;
}

export const SESSION_KEY = ['auth', 'session'] as const;

/**
 * A provider that loads the session before rendering its children (they get a session that is never undefined) and
 * keeps the api client's CSRF token in step with it, and the hook that reads it.
 */
export function createSession<S extends SessionBase, C extends SessionChangeBase>(options: SessionOptions<S, C>) {
  const SessionContext = createContext<SessionContextValue<S, C> | null>(null);

  async function loadSession(): Promise<S> {
    const session = await api.get<S>('/auth/session');
    setCsrfToken(session.csrf_token);
    return session;
  }

  function SessionProvider(props: SessionProviderProps) {
    const client = useQueryClient();
    const [signedOut, setSignedOut] = useState(false);
    const query = useQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: Infinity, retry: 1 });

    const reload = useCallback(() => client.fetchQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: 0 }), [client]);

    useEffect(() => {
      setSessionLoader(reload);
    }, [reload]);

    const applyChange = useCallback(
      (change: C) => {
        if (change.csrf_token) setCsrfToken(change.csrf_token);
        setSignedOut(false);
        if (options.reloadOn?.(change)) {
          void reload();
          return;
        }
        client.setQueryData<S>(SESSION_KEY, (old) => options.merge(old, change));
      },
      [client, reload],
    );

    const signOut = useCallback(async () => {
      pauseSignInRedirect(true);
      try {
        await api.post<void>('/auth/logout');
      } finally {
        // Load the new anonymous session (and its CSRF token): the sign-in gate then replaces the signed-in pages. Only
        // then forget every cached answer — removed earlier, the pages still on screen would fetch them again (401).
        setCsrfToken(null);
        setSignedOut(true);
        await reload().catch(() => undefined);
        client.removeQueries({ predicate: (cached) => cached.queryKey[0] !== SESSION_KEY[0] });
        pauseSignInRedirect(false);
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

  function useSession(): SessionContextValue<S, C> {
    const value = useContext(SessionContext);
    if (!value) throw new Error('useSession outside its SessionProvider');
    return value;
  }

  return { SessionProvider, useSession };
}
