import { useState, type FormEvent, type ReactNode } from 'react';
import { useApiMutation } from '../query';
import { Field, fieldError } from './Field';
import { FormError } from './Feedback';
import { Modal } from './Modal';
import { SecretDialog } from './Secret';

/**
 * Inviting someone to the customer console, in either app (a team owner's `POST /team/invitations {email, role}`, the
 * operator's `POST /admin/customer-invitations {email, customer_id?}`): the form in a dialog, then the invitation
 * link once ("Invitation sent"). `extra` is the one field besides the email (the role, or the customer id).
 */
export interface InviteExtra {
  param: string;
  initial: string;
  /** The control, inside a `Field` labelled by the caller. */
  field: (value: string, set: (value: string) => void, error: string | null) => ReactNode;
  /** The request body's part for the field's value. */
  body: (value: string) => Record<string, string>;
}

export function InviteDialogs(props: {
  open: boolean;
  onClose: () => void;
  title: string;
  path: string;
  invalidate: string[];
  extra: InviteExtra;
  /** What the "Invitation sent" dialog says about the mail. */
  sentNote: (email: string) => ReactNode;
}) {
  const [sent, setSent] = useState<{ email: string; url: string } | null>(null);
  return (
    <>
      <Modal open={props.open} title={props.title} onClose={props.onClose}>
        {props.open && (
          <InviteForm
            path={props.path}
            invalidate={props.invalidate}
            extra={props.extra}
            onCancel={props.onClose}
            onInvited={(email, url) => {
              props.onClose();
              setSent({ email, url });
            }}
          />
        )}
      </Modal>
      <SecretDialog title="Invitation sent" value={sent?.url ?? null} label="Invitation link" what="the link" onClose={() => setSent(null)}>
        <p>{sent && props.sentNote(sent.email)}</p>
      </SecretDialog>
    </>
  );
}

function InviteForm(props: { path: string; invalidate: string[]; extra: InviteExtra; onCancel: () => void; onInvited: (email: string, url: string) => void }) {
  const [email, setEmail] = useState('');
  const [extra, setExtra] = useState(props.extra.initial);
  const invite = useApiMutation<Record<string, string>, { invite_url: string }>({
    method: 'POST',
    path: props.path,
    invalidate: props.invalidate,
    onSuccess: (answer, vars) => props.onInvited(vars.email!, answer.invite_url),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    invite.mutate({ email: email.trim(), ...props.extra.body(extra) });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Email" error={fieldError(invite.error, 'email')}>
        <input type="email" name="email" data-autofocus value={email} onChange={(event) => setEmail(event.target.value)} />
      </Field>
      {props.extra.field(extra, setExtra, fieldError(invite.error, props.extra.param))}
      <FormError error={invite.error} fields={['email', props.extra.param]} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={invite.isPending || !email.trim()}>
          {invite.isPending ? 'Inviting…' : 'Send the invitation'}
        </button>
      </div>
    </form>
  );
}
