import { useEffect, useId, useRef, type ReactNode } from 'react';

const FIRST_FOCUS = ['input:not([type="hidden"])', 'select', 'textarea', 'button'].map((selector) => `.modal-body ${selector}:not([disabled])`).join(', ');

/**
 * A modal dialog on the native `<dialog>` element: focus moves inside and stays there, Escape closes it, focus
 * returns to the opener afterwards. Focus starts on the body's control marked `data-autofocus`, else its first control
 * (React's `autoFocus` runs before the dialog opens, so it has no effect inside one).
 */
export function Modal(props: { open: boolean; title: ReactNode; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) {
      dialog.showModal();
      // showModal focuses the first focusable element (the close button); start in the body instead: the control
      // marked `data-autofocus`, else the first control.
      (dialog.querySelector<HTMLElement>('.modal-body [data-autofocus]') ?? dialog.querySelector<HTMLElement>(FIRST_FOCUS))?.focus();
    }
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);

  return (
    <dialog
      ref={ref}
      className={props.wide ? 'modal modal-wide' : 'modal'}
      aria-labelledby={titleId}
      onClose={() => props.open && props.onClose()}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      {props.open && (
        <>
          <header className="modal-header">
            <h2 id={titleId}>{props.title}</h2>
            <button type="button" className="button-icon" aria-label="Close" onClick={props.onClose}>
              ×
            </button>
          </header>
          <div className="modal-body">{props.children}</div>
        </>
      )}
    </dialog>
  );
}

/** A yes/no question before a destructive action. `busy` disables the buttons while the action runs. */
export function ConfirmDialog(props: {
  open: boolean;
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: ReactNode;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Modal open={props.open} title={props.title} onClose={props.onClose}>
      <div className="stack">
        {props.children}
        {props.error}
        <div className="actions">
          <button type="button" className="button" onClick={props.onClose} disabled={props.busy}>
            Cancel
          </button>
          <button type="button" className={props.danger ? 'button button-danger' : 'button button-primary'} onClick={props.onConfirm} disabled={props.busy}>
            {props.busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </div>
    </Modal>
  );
}
