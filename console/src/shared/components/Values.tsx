import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { formatCredits, formatDateTime, formatRelative, toDate } from '../format';

/** An amount of credits: `1,234 cr`; `signed` shows `+` for positive amounts; negative amounts are marked. */
export function Credits(props: { value: number | null | undefined; signed?: boolean }) {
  const value = props.value;
  const text = formatCredits(value);
  const sign = props.signed && value !== null && value !== undefined && value > 0 ? '+' : '';
  return <span className={`credits${value !== null && value !== undefined && value < 0 ? ' negative' : ''}`}>{sign}{text}</span>;
}

/** `3 minutes ago`, with the full date and time as its accessible title. */
export function TimeAgo(props: { value: string | number | null | undefined }) {
  const date = toDate(props.value);
  if (!date) return <span className="muted">—</span>;
  return (
    <time dateTime={date.toISOString()} title={formatDateTime(date)}>
      {formatRelative(date)}
    </time>
  );
}

/** A full date and time. */
export function DateTime(props: { value: string | number | null | undefined }) {
  const date = toDate(props.value);
  if (!date) return <span className="muted">—</span>;
  return <time dateTime={date.toISOString()}>{formatDateTime(date)}</time>;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral';

/** A small status label. Status names map to tones with `toneOf`. */
export function Badge(props: { tone?: Tone; children: ReactNode }) {
  return <span className={`badge badge-${props.tone ?? 'neutral'}`}>{props.children}</span>;
}

const TONES: Record<string, Tone> = {
  active: 'ok', healthy: 'ok', succeeded: 'ok', delivered: 'ok', authenticated: 'ok', enabled: 'ok',
  pending: 'info', queued: 'info', running: 'info', mfa_pending: 'info',
  cooldown: 'warn', cooling: 'warn', degraded: 'warn', low_balance: 'warn', expired: 'warn', suspended: 'warn',
  disabled: 'bad', failed: 'bad', open: 'bad', revoked: 'bad', cancelled: 'neutral',
};

export function toneOf(status: string | null | undefined): Tone {
  return (status && TONES[status]) || 'neutral';
}

/** A badge for a status word, toned by `toneOf`. */
export function StatusBadge(props: { status: string | null | undefined }) {
  return <Badge tone={toneOf(props.status)}>{props.status ?? '—'}</Badge>;
}

/** An id or other machine value, monospaced and breakable. */
export function Mono(props: { children: ReactNode }) {
  return <code className="mono">{props.children}</code>;
}

/**
 * An id (`task_0358DI5l8HOV647M0bu9iC`) on one line, monospaced; a generated id is shortened in the middle
 * (`task_0358…M0bu9iC`: the start names the kind, the end tells ids apart). The middle is only hidden from sight: the
 * whole id stays in the page's text (find, copy, screen readers) and in the tooltip. `to` makes it a link; `full`
 * shows it whole.
 */
export function Id(props: { value: string; to?: string; full?: boolean; className?: string }) {
  const { value } = props;
  // Generated ids (`<kind>_<random>`) are shortened; names such as model ids are not.
  const prefix = /^[a-z]{2,8}_/.exec(value)?.[0];
  const headLength = (prefix?.length ?? 0) + 4;
  const tailLength = 7;
  const shorten = !props.full && prefix !== undefined && value.length > headLength + tailLength + 3;
  const className = `id${props.className ? ` ${props.className}` : ''}`;
  const content = shorten ? (
    <>
      {value.slice(0, headLength)}
      <span className="id-middle">{value.slice(headLength, value.length - tailLength)}</span>
      {value.slice(value.length - tailLength)}
    </>
  ) : (
    value
  );
  return props.to ? (
    <Link to={props.to} className={className} title={value}>
      {content}
    </Link>
  ) : (
    <span className={className} title={value}>
      {content}
    </span>
  );
}
