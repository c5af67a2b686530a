import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { isApiError } from './api';

/**
 * Counts down from the moment `seconds` is set (e.g. a 429's Retry-After) to 0, once a second. Returns the seconds
 * left (0 when idle). Pass a new `key` to restart with the same number of seconds.
 */
export function useCountdown(seconds: number | null, key?: unknown): number {
  const [until, setUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    setUntil(seconds && seconds > 0 ? Date.now() + seconds * 1000 : null);
    setNow(Date.now());
  }, [seconds, key]);

  useEffect(() => {
    if (until === null) return;
    const timer = window.setInterval(() => {
      const current = Date.now();
      setNow(current);
      if (current >= until) window.clearInterval(timer);
    }, 1000);
    return () => window.clearInterval(timer);
  }, [until]);

  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

/**
 * The state of a form that sends one request per submit: `busy` while it runs, the `error` it failed with, and `wait`,
 * the seconds left of a 429's Retry-After. `run(action, onError)` clears the error and runs `action`; what it throws
 * is kept as `error` unless `onError` answers true (it handled it). `clearError` forgets the last failure.
 */
export function useSubmitState() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const wait = useCountdown(isApiError(error) ? error.retryAfter : null, error);
  const run = async (action: () => Promise<void>, onError?: (error: unknown) => boolean | void) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      if (onError?.(caught) !== true) setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, wait, run, clearError: () => setError(null) };
}

/** Offers `content` as a file download (recovery codes). Uses a blob: URL only for the download itself. */
export function downloadText(filename: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: 'text/plain;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A path inside the app from a `?next=` value, or `fallback`: only same-app paths, never another origin. */
export function safeNext(next: string | null, appBase: string, fallback = '/'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return fallback;
  if (next === appBase || next.startsWith(`${appBase}/`)) return next.slice(appBase.length) || '/';
  return next;
}

/**
 * List filters kept in the page's URL (`/tasks?customer=cus_1&status=failed`), so a filtered view can be linked and
 * survives a reload. Times are stored as RFC 3339 (what the API takes); components/FilterBar.tsx edits them as
 * `datetime-local` values.
 */
export function useUrlFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((key) => [key, params.get(key) ?? ''])) as Record<K, string>;
  const apply = (next: Record<K, string>) => {
    const clean: Record<string, string> = {};
    for (const key of keys) if (next[key]?.trim()) clean[key] = next[key].trim();
    setParams(clean);
  };
  return { values, apply, key: keys.map((key) => `${key}=${values[key]}`).join('&') };
}
