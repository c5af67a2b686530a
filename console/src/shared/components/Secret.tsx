import { useId, useRef, useState, type ReactNode } from 'react';
import { Modal } from './Modal';

/** Copies `text` to the clipboard; falls back to selecting `fallbackTarget` when the Clipboard API is unavailable. */
export function CopyButton(props: { text: string; label?: string; fallbackTarget?: () => HTMLInputElement | HTMLTextAreaElement | null }) {
  const [state, setState] = useState<'idle' | 'copied' | 'select'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setState('copied');
    } catch {
      const target = props.fallbackTarget?.();
      target?.focus();
      target?.select();
      setState('select');
    }
    window.setTimeout(() => setState('idle'), 2500);
  };
  return (
    <button type="button" className="button" onClick={() => void copy()}>
      {state === 'copied' ? 'Copied' : state === 'select' ? 'Selected — press Ctrl+C' : (props.label ?? 'Copy')}
    </button>
  );
}

/**
 * A secret the server returns exactly once (an API key, an enrollment link): shown read-only with a copy button
 * and a warning. The caller must drop it from state when the user moves on — it is never fetched again.
 */
export function SecretOnce(props: { label: string; value: string; what?: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const id = useId();
  return (
    <div className="secret-once">
      <label htmlFor={id}>{props.label}</label>
      <div className="secret-row">
        <input id={id} ref={ref} className="mono" readOnly autoComplete="off" spellCheck={false} value={props.value} onFocus={(event) => event.target.select()} />
        <CopyButton text={props.value} fallbackTarget={() => ref.current} />
      </div>
      <p className="warning" role="note">
        Copy {props.what ?? 'it'} now: it will not be shown again.
      </p>
    </div>
  );
}

/**
 * A small "copy" control right after an id in a table (`label` names what is copied, for screen readers). Without
 * the Clipboard API (plain http on another host) it selects the element before it, for Ctrl+C.
 */
export function CopyInline(props: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'selected'>('idle');
  const copy = async (button: HTMLButtonElement) => {
    try {
      await navigator.clipboard.writeText(props.text);
      setState('copied');
    } catch {
      const target = button.previousElementSibling;
      if (target) window.getSelection()?.selectAllChildren(target);
      setState('selected');
    }
    window.setTimeout(() => setState('idle'), 2000);
  };
  return (
    <button type="button" className="copy-inline" onClick={(event) => void copy(event.currentTarget)} aria-label={`Copy ${props.label}`} title={`Copy ${props.text}`}>
      {state === 'copied' ? 'copied' : state === 'selected' ? 'Ctrl+C' : 'copy'}
    </button>
  );
}

/**
 * A dialog around one `SecretOnce` (a new key, an endpoint's signing secret, an invitation link): `children` say what
 * it is, the button closes it. Open while `value` is set; the caller drops the value on close.
 */
export function SecretDialog(props: {
  title: string;
  value: string | null;
  label: string;
  what?: string;
  doneLabel?: string;
  onClose: () => void;
  children?: ReactNode;
}) {
  return (
    <Modal open={props.value !== null} title={props.title} onClose={props.onClose}>
      {props.value !== null && (
        <div className="stack">
          {props.children}
          <SecretOnce label={props.label} value={props.value} what={props.what} />
          <div className="actions">
            <button type="button" className="button button-primary" onClick={props.onClose}>
              {props.doneLabel ?? 'Done'}
            </button>
          </div>
        </div>
      )}
    </Modal>
  );
}
