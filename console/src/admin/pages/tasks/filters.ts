import { useSearchParams } from 'react-router';
import { isApiError } from '../../../shared/api';
import { localToIso } from '../../../shared/forms';

/**
 * List filters kept in the page's URL (`/tasks?customer=cus_1&status=failed`), so a filtered view can be linked and
 * survives a reload. Times are stored as RFC 3339 (what the API takes) and edited as `datetime-local` values.
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

/** RFC 3339 → the browser-local `YYYY-MM-DDTHH:mm` a datetime-local input shows; '' when absent or invalid. */
export function isoToLocal(iso: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value → RFC 3339 for the URL ('' stays ''). */
export function localToIsoText(local: string): string {
  return localToIso(local) ?? '';
}

/**
 * How a list shows a failed load: filters the server refused (400, named on their field too) need a change, not a
 * retry; anything else offers "Try again".
 */
export function listError(error: Error, retry: () => void): { title: string; retry?: () => void } {
  return isApiError(error) && error.status === 400 ? { title: 'These filters were refused.' } : { title: 'Could not load this.', retry };
}
