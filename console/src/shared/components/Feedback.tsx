import type { ReactNode } from 'react';
import { isApiError } from '../api';

/** A polite busy indicator; `inline` for use inside a sentence or a button row. */
export function Loading(props: { label?: string; inline?: boolean }) {
  const label = props.label ?? 'Loading…';
  return (
    <div className={props.inline ? 'loading loading-inline' : 'loading'} role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

function describe(error: unknown): { message: string; code: string | null; requestId: string | null } {
  if (isApiError(error)) return { message: error.message, code: error.code, requestId: error.requestId };
  if (error instanceof Error) return { message: error.message, code: null, requestId: null };
  return { message: 'Something went wrong.', code: null, requestId: null };
}

/** A failed load: the server's message, its code and request id (for the logs), and a retry button. */
export function ErrorState(props: { error: unknown; title?: string; retry?: () => void }) {
  const { message, code, requestId } = describe(props.error);
  return (
    <div className="error-state" role="alert">
      <strong>{props.title ?? 'Could not load this.'}</strong>
      <p>{message}</p>
      {(code || requestId) && (
        <p className="muted small">
          {code && <>Code <code>{code}</code></>}
          {code && requestId && ' · '}
          {requestId && <>Request id <code>{requestId}</code></>}
        </p>
      )}
      {props.retry && (
        <button type="button" className="button" onClick={props.retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/**
 * A failed form submission, shown above the form's buttons. Renders nothing without an error, or when the error names
 * a field listed in `fields` (that field shows it already, through `fieldError`).
 */
export function FormError(props: { error: unknown; fields?: string[] }) {
  if (!props.error) return null;
  const { message, requestId } = describe(props.error);
  const param = isApiError(props.error) ? props.error.param : null;
  if (param && props.fields?.some((field) => param === field || param.startsWith(`${field}.`))) return null;
  return (
    <div className="form-error" role="alert">
      {message}
      {param && <span className="muted"> (field <code>{param}</code>)</span>}
      {requestId && <span className="muted small"> · request id <code>{requestId}</code></span>}
    </div>
  );
}

/** A one-line success or info notice. */
export function Notice(props: { tone?: 'ok' | 'info' | 'warn'; children: ReactNode }) {
  return (
    <div className={`notice notice-${props.tone ?? 'info'}`} role="status">
      {props.children}
    </div>
  );
}

/** The empty state of a list or panel. */
export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

/**
 * In place of a chart with nothing to draw (bare axes would say nothing): a short title and a line on what would
 * show here. Takes the chart's height so the page does not jump when data arrives.
 */
export function ChartEmpty(props: { title: string; children?: ReactNode; height?: number }) {
  return (
    <div className="chart-empty" style={props.height ? { height: props.height } : undefined}>
      <p className="chart-empty-title">{props.title}</p>
      {props.children && <p className="muted small">{props.children}</p>}
    </div>
  );
}
