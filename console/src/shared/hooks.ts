import { useEffect, useState } from 'react';

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
