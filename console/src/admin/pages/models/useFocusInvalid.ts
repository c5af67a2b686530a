import { useEffect, useRef } from 'react';

/**
 * After a refused submit, moves focus (and the scroll position) to the first field marked invalid, so the operator —
 * with a keyboard or a screen reader too — lands on what to fix instead of a message at the bottom of a long form.
 * `error` is the latest local or server error; the effect runs when it changes.
 */
export function useFocusInvalid<T extends HTMLElement>(error: unknown) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (!error || !ref.current) return;
    const invalid = ref.current.querySelector<HTMLElement>('[aria-invalid="true"]');
    invalid?.focus();
  }, [error]);
  return ref;
}
