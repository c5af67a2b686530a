import type { ReactNode } from 'react';
import { createSession } from '../shared/session';
import type { ConsoleSession, SessionChange } from './types';

/**
 * The customer session (`GET /console/api/auth/session`) on the shared session provider (shared/session.tsx), with
 * the customer's shape (`user`, `customer`, `signup_mode`) and roles `owner` / `member`. A sign-up, or a sign-in answer
 * without the user, is completed by reloading the session.
 */
export const { SessionProvider: CustomerSessionProvider, useSession: useCustomerSession } = createSession<ConsoleSession, SessionChange>({
  reloadOn: (change) => change.state === 'verify_email' || (change.state === 'authenticated' && change.user === undefined),
  merge: (old, change) =>
    old && {
      ...old,
      state: change.state as ConsoleSession['state'],
      csrf_token: change.csrf_token ?? old.csrf_token,
      user: change.user === undefined ? old.user : change.user,
      customer: change.customer === undefined ? old.customer : change.customer,
    },
});

/** True for the customer's owners (team management, the webhook signing secret); the server enforces it too. */
export function useIsOwner(): boolean {
  const { session } = useCustomerSession();
  return session.state === 'authenticated' && session.user?.role === 'owner';
}

export function OwnerOnly(props: { children: ReactNode; fallback?: ReactNode }) {
  return <>{useIsOwner() ? props.children : (props.fallback ?? null)}</>;
}
