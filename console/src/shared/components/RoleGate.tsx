import type { ReactNode } from 'react';
import { useCanWrite, useRole } from '../session';

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
