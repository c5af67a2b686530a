/**
 * Turning form text into API values. Inputs keep strings in state; these convert at submit time so the server's
 * strict validation (no coercion) gets the right JSON types.
 */

/** '' → null; an integer string → the number; anything else → NaN (let the server or a check report it). */
export function optionalInt(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

/** Comma- or newline-separated values → trimmed, non-empty, unique; '' → null. */
export function optionalList(text: string): string[] | null {
  const items = [...new Set(text.split(/[\n,]/).map((item) => item.trim()).filter(Boolean))];
  return items.length === 0 ? null : items;
}

/** The text a list field starts with. */
export function listText(items: string[] | null | undefined): string {
  return items?.join(', ') ?? '';
}

/** A `datetime-local` value (browser time zone) → RFC 3339 UTC; '' → null. */
export function localToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** RFC 3339 → the browser-local `YYYY-MM-DDTHH:mm` a datetime-local input shows; '' when absent or invalid. */
export function isoToLocal(iso: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
