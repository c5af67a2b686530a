import { useId, useRef, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { api, isApiError } from '../shared/api';
import { CopyButton, Notice } from '../shared/components';
import { useCustomerSession } from './session';
import type { Mode, ResultAsset } from './types';

/** A value from the URL fragment (`#token=…`): tokens travel there so they never reach a server log or a Referer. */
export function useHashParam(name: string): string | null {
  const [value] = useState(() => new URLSearchParams(window.location.hash.replace(/^#/, '')).get(name));
  return value;
}

/** The `mode` (live | test) a page shows, kept in the URL (`?mode=test`); live by default. */
export function useMode(): [Mode, (mode: Mode) => void] {
  const [params, setParams] = useSearchParams();
  const mode: Mode = params.get('mode') === 'test' ? 'test' : 'live';
  const set = (next: Mode) =>
    setParams(
      (old) => {
        const copy = new URLSearchParams(old);
        if (next === 'live') copy.delete('mode');
        else copy.set('mode', next);
        return copy;
      },
      { replace: true },
    );
  return [mode, set];
}

/** A segmented live/test switch (buttons with aria-pressed). */
export function ModeSwitch(props: { mode: Mode; onChange: (mode: Mode) => void }) {
  return (
    <Segmented
      label="Mode"
      value={props.mode}
      options={[
        { value: 'live', label: 'Live' },
        { value: 'test', label: 'Test' },
      ]}
      onChange={props.onChange}
    />
  );
}

export function Segmented<T extends string>(props: { label: string; value: T; options: { value: T; label: string }[]; onChange: (value: T) => void }) {
  return (
    <div className="segmented" role="group" aria-label={props.label}>
      {props.options.map((option) => (
        <button key={option.value} type="button" aria-pressed={option.value === props.value} onClick={() => props.onChange(option.value)}>
          {option.label}
        </button>
      ))}
    </div>
  );
}

/** A block of code (a snippet, a JSON body) with a copy button. */
export function CodeBlock(props: { code: string; label: string }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  return (
    <div className="code-block">
      <div className="code-block-bar">
        <span id={id} className="muted small">
          {props.label}
        </span>
        <CopyButton text={props.code} label="Copy" fallbackTarget={() => ref.current} />
      </div>
      <pre className="code" aria-labelledby={id} tabIndex={0}>
        {props.code}
      </pre>
      <textarea ref={ref} className="visually-hidden" readOnly value={props.code} tabIndex={-1} aria-hidden="true" />
    </div>
  );
}

/** Shown above every signed-in page while the user's email is not verified, with a resend button. */
export function VerifyBanner() {
  const { session } = useCustomerSession();
  const [state, setState] = useState<'idle' | 'sending' | 'sent' | 'failed'>('idle');
  const [error, setError] = useState<string | null>(null);
  if (!session.user || session.user.email_verified) return null;
  const resend = async () => {
    setState('sending');
    try {
      await api.post('/auth/verify/resend');
      setState('sent');
    } catch (caught) {
      setError(isApiError(caught) ? caught.message : 'Could not send the mail.');
      setState('failed');
    }
  };
  return (
    <div className="verify-banner">
      <Notice tone="warn">
        Verify your email address ({session.user.email}): open the link we sent you. Test credits arrive once it is verified.{' '}
        {state === 'sent' ? (
          <strong>A new link is on its way.</strong>
        ) : (
          <button type="button" className="button button-small" onClick={() => void resend()} disabled={state === 'sending'}>
            {state === 'sending' ? 'Sending…' : 'Send the link again'}
          </button>
        )}
        {state === 'failed' && error && <span className="field-error"> {error}</span>}
      </Notice>
    </div>
  );
}

type Kind = 'image' | 'video' | 'audio' | 'other';

function kindOf(contentType: string | null | undefined, fallback: Kind): Kind {
  if (!contentType) return fallback;
  if (contentType.startsWith('image/')) return 'image';
  if (contentType.startsWith('video/')) return 'video';
  if (contentType.startsWith('audio/')) return 'audio';
  return 'other';
}

export function kindOfTaskType(type: string): Kind {
  return type === 'image' ? 'image' : type === 'video' ? 'video' : type === 'music' ? 'audio' : 'other';
}

/** The result of a task in the page (`<img>`, `<video>`, `<audio>` per asset) from genrelay's signed links. */
export function MediaPreview(props: { url: string; assets?: ResultAsset[]; fallback: Kind; label: string }) {
  const assets = props.assets?.length ? props.assets : [{ url: props.url, content_type: null }];
  return (
    <div className="media-grid">
      {assets.map((asset, index) => {
        const kind = kindOf(asset.content_type, props.fallback);
        const name = `${props.label}${assets.length > 1 ? ` ${index + 1}` : ''}`;
        return (
          <figure key={asset.url} className="media">
            {kind === 'image' && <img src={asset.url} alt={name} loading="lazy" />}
            {kind === 'video' && <video src={asset.url} controls preload="metadata" aria-label={name} />}
            {kind === 'audio' && <audio src={asset.url} controls preload="metadata" aria-label={name} />}
            <figcaption className="small">
              <a href={asset.url} target="_blank" rel="noopener noreferrer">
                Open {kind === 'other' ? 'the file' : `the ${kind}`}
                {assets.length > 1 ? ` ${index + 1}` : ''} ↗
              </a>
              {asset.content_type && <span className="muted"> · {asset.content_type}</span>}
            </figcaption>
          </figure>
        );
      })}
    </div>
  );
}

/** A summary card (label, big value, a line below). */
export function Card(props: { label: string; value: ReactNode; sub?: ReactNode; title?: string }) {
  return (
    <div className="card" title={props.title}>
      <div className="card-label">{props.label}</div>
      <div className="card-value">{props.value}</div>
      {props.sub && <div className="card-sub">{props.sub}</div>}
    </div>
  );
}
