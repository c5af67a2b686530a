/**
 * Formatting used across the console. Credits are integers (the API never sends fractions); times arrive as RFC 3339
 * strings (operator views) or Unix seconds (native task views) — `toDate` accepts both.
 */
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : integer.format(value);
}

export function formatCompact(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : compact.format(value);
}

/** `1,234,567 cr`; null/undefined → `—`. */
export function formatCredits(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${integer.format(value)} cr`;
}

/** A 0–1 ratio as `12.5 %`. */
export function formatPercent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)} %`;
}

export function toDate(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  if (value instanceof Date) return value;
  const date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

const dateTime = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const dateTimeMinutes = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
});
// Daily dashboard buckets are UTC days: their labels are UTC dates (a local date could name the day before).
const utcDate = new Intl.DateTimeFormat('en-GB', { month: 'short', day: '2-digit', timeZone: 'UTC' });
const utcDateYear = new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: 'short', day: '2-digit', timeZone: 'UTC' });
const shortTime = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });

/** `02 Mar 2026, 14:05:09` in the browser's time zone; `—` when absent. */
export function formatDateTime(value: string | number | Date | null | undefined): string {
  const date = toDate(value);
  return date ? dateTime.format(date) : '—';
}

const timeSeconds = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** `14:05:09` in the browser's time zone (the full date belongs in a title); `—` when absent. */
export function formatTime(value: string | number | Date | null | undefined): string {
  const date = toDate(value);
  return date ? timeSeconds.format(date) : '—';
}

/** `02 Mar 2026, 14:05` (no seconds), in the browser's time zone; `—` when absent. */
export function formatDateTimeMinutes(value: string | number | Date | null | undefined): string {
  const date = toDate(value);
  return date ? dateTimeMinutes.format(date) : '—';
}

/** Chart axis labels, by the bucket's start: `14:00` for hourly buckets (local time), `02 Mar` for daily (UTC) ones. */
export function formatBucket(value: string | number, bucket: 'hour' | 'day'): string {
  const date = toDate(value);
  if (!date) return '';
  return bucket === 'hour' ? shortTime.format(date) : utcDate.format(date);
}

/** `03 Dec 2026`, the UTC date of an instant (daily buckets are UTC days). */
export function formatUtcDate(value: string | number | Date | null | undefined): string {
  const date = toDate(value);
  return date ? utcDateYear.format(date) : '—';
}

/** A bucket as a span for tooltips: `14:00–15:00` for an hour, `02 Mar 2026 (UTC)` for a day. */
export function formatBucketSpan(value: string | number, bucket: 'hour' | 'day'): string {
  const date = toDate(value);
  if (!date) return '';
  if (bucket === 'day') return `${utcDateYear.format(date)} (UTC)`;
  return `${shortTime.format(date)}–${shortTime.format(new Date(date.getTime() + 3_600_000))}`;
}

/**
 * Money amounts of one table with one rule: at least 2 decimals, more only when some amount needs them (sub-cent
 * prices), at most 6; every amount gets the same count so the column lines up. Amounts may be numbers or the decimal
 * strings the pricing API sends. Returns a formatter for the given set.
 */
export function moneyFormatter(amounts: (string | number | null | undefined)[]): (amount: string | number | null | undefined) => string {
  const decimalsOf = (amount: string | number) => {
    const text = typeof amount === 'number' ? String(amount) : amount.trim();
    if (/e/i.test(text)) return 6;
    const dot = text.indexOf('.');
    return dot < 0 ? 0 : text.slice(dot + 1).replace(/0+$/, '').length;
  };
  const known = amounts.filter((amount): amount is string | number => amount !== null && amount !== undefined && amount !== '');
  const digits = Math.min(6, Math.max(2, ...known.map(decimalsOf)));
  const format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return (amount) => {
    if (amount === null || amount === undefined || amount === '') return '—';
    const value = typeof amount === 'number' ? amount : Number(amount);
    return Number.isFinite(value) ? format.format(value) : String(amount);
  };
}

/**
 * The time between two instants: `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 04 min`, `3 d 2 h`; `—` when either is missing
 * or `to` is before `from`.
 */
export function formatDuration(from: string | number | Date | null | undefined, to: string | number | Date | null | undefined): string {
  const start = toDate(from);
  const end = toDate(to);
  if (!start || !end) return '—';
  const ms = end.getTime() - start.getTime();
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const pad = (value: number) => String(value).padStart(2, '0');
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${pad(whole % 60)} s`;
  if (whole < 86_400) return `${Math.floor(whole / 3600)} h ${pad(Math.floor((whole % 3600) / 60))} min`;
  return `${Math.floor(whole / 86_400)} d ${Math.floor((whole % 86_400) / 3600)} h`;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60], ['minute', 60], ['hour', 24], ['day', 30], ['month', 12], ['year', Infinity],
];

/** `3 minutes ago`, `in 2 hours`. */
export function formatRelative(value: string | number | Date | null | undefined, now: number = Date.now()): string {
  const date = toDate(value);
  if (!date) return '—';
  let amount = (date.getTime() - now) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return dateTime.format(date);
}

/** `Chrome 126 on Linux` from a User-Agent header (the full string belongs in a title attribute). */
const BROWSERS: [RegExp, string][] = [
  [/Edg\/(\d+)/, 'Edge'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/(?:Chrome|Chromium)\/(\d+)/, 'Chrome'],
  [/Version\/(\d+)[^]*Safari/, 'Safari'],
  [/^curl\/(\S+)/, 'curl'],
];
const SYSTEMS: [RegExp, string][] = [
  [/Windows/, 'Windows'],
  [/Android/, 'Android'],
  [/iPhone|iPad/, 'iOS'],
  [/Mac OS X/, 'macOS'],
  [/Linux/, 'Linux'],
];

export function describeUserAgent(ua: string | null | undefined): string {
  if (!ua) return '—';
  let browser: string | null = null;
  for (const [pattern, name] of BROWSERS) {
    const match = pattern.exec(ua);
    if (match) {
      browser = `${name} ${match[1]}`;
      break;
    }
  }
  if (!browser) return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  return system ? `${browser} on ${system}` : browser;
}
