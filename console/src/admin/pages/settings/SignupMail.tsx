import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Badge, CopyInline, DataTable, ErrorState, Field, InviteDialogs, Loading, Pager, Section, TimeAgo, usePager, type Column, type InviteExtra } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import type { List } from '../../types';
import { CanWrite } from '../../session';

/**
 * The operator's side of customer sign-up (issue 12): invite someone to the customer console
 * (`POST /admin/api/admin/customer-invitations {email, customer_id?}` → the link once, also mailed), and the mail outbox
 * (`GET /admin/api/admin/mail-outbox`): while SMTP_URL is unset, verification, reset and invitation mail is kept there
 * (and logged) instead of sent, so the operator can pass the links on.
 */
interface OutboxMail {
  id: string;
  to: string;
  subject: string;
  kind: string;
  link: string | null;
  body: string;
  created_at: string;
}

export function InviteCustomerSection() {
  const [open, setOpen] = useState(false);
  return (
    <CanWrite>
      <Section
        title="Invite a customer"
        actions={
          <button type="button" className="button button-primary" onClick={() => setOpen(true)}>
            Invite someone
          </button>
        }
      >
        <p className="muted small">
          An invitation link works whatever the sign-up mode, once, for 7 days. Without a customer id the person's sign-up makes a new
          customer; with one they join that customer as an owner.
        </p>
        <InviteDialogs
          open={open}
          onClose={() => setOpen(false)}
          title="Invite a customer"
          path="/admin/customer-invitations"
          invalidate={['/admin/mail-outbox']}
          extra={CUSTOMER_FIELD}
          sentNote={(email) => `The invitation was mailed to ${email} (or kept in the mail outbox below). You can also pass the link on yourself.`}
        />
      </Section>
    </CanWrite>
  );
}

/** An existing customer the invitee joins as an owner; empty: the sign-up makes a new customer. */
const CUSTOMER_FIELD: InviteExtra = {
  param: 'customer_id',
  initial: '',
  body: (id): Record<string, string> => (id.trim() ? { customer_id: id.trim() } : {}),
  field: (id, setId, error) => (
    <Field label="Customer id" hint="Optional: an existing customer the person joins as an owner." error={error}>
      <input name="customer_id" placeholder="cus_…" spellCheck={false} value={id} onChange={(event) => setId(event.target.value)} />
    </Field>
  ),
};

export function MailOutboxSection() {
  const pager = usePager();
  const list = useApiQuery<List<OutboxMail>>('/admin/mail-outbox', { limit: 25, after: pager.after }, { placeholderData: keepPreviousData });
  const columns: Column<OutboxMail>[] = [
    { key: 'at', header: 'Written', className: 'nowrap', render: (mail) => <TimeAgo value={mail.created_at} /> },
    { key: 'to', header: 'To', className: 'wrap', render: (mail) => mail.to },
    { key: 'kind', header: 'Kind', render: (mail) => <Badge>{mail.kind}</Badge> },
    { key: 'subject', header: 'Subject', className: 'wrap', render: (mail) => mail.subject },
    {
      key: 'link',
      header: 'Link',
      className: 'wrap',
      render: (mail) =>
        mail.link ? (
          // Copied, not opened here: opening a verification or reset link would use it up in the operator's browser.
          <span className="outbox-link">
            <span className="mono small">{mail.link}</span>
            <CopyInline text={mail.link} label={`the ${mail.kind} link for ${mail.to}`} />
          </span>
        ) : (
          <span className="muted">—</span>
        ),
    },
  ];
  return (
    <Section title="Mail outbox">
      <p className="muted small">
        Without <code>SMTP_URL</code> the customer console's mail (address verification, password reset, invitations) is kept here and
        written to the log, newest first, so you can pass the links on. With an SMTP server it is sent instead and this list stays
        empty. The links are single-use secrets: share each only with its addressee.
      </p>
      {list.isPending ? (
        <Loading label="Loading the outbox…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : (
        <>
          <DataTable columns={columns} rows={list.data.data} rowKey={(mail) => mail.id} empty="No mail kept." caption="Mail outbox" captionHidden />
          <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Outbox pages" />
        </>
      )}
    </Section>
  );
}
