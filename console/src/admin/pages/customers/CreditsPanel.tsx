import { keepPreviousData } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Credits, DataTable, DateTime, ErrorState, Field, FormError, Id, Loading, Modal, Notice, Pager, Section, fieldError, usePager, type Column } from '../../../shared/components';
import { formatCredits } from '../../../shared/format';
import { optionalInt } from '../../../shared/forms';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { CreditResult, Ledger, LedgerEntry, Mode } from '../../types';
import { CanWrite } from '../../session';

/**
 * A customer's wallet ledger (`GET /public/customers/:id/credits?mode&after=le_…`) and the grant/adjust form
 * (`POST …/credits {amount, reason, reference?, mode}`: > 0 grants, < 0 adjusts down; a repeated reference is
 * applied once). The balances themselves are on the wallet cards above this panel.
 */
export function CreditsPanel(props: { customerId: string }) {
  const [mode, setMode] = useState<Mode>('live');
  const [granting, setGranting] = useState(false);
  const [done, setDone] = useState<CreditResult | null>(null);
  const pager = usePager(mode);
  const base = `/public/customers/${props.customerId}/credits`;
  const ledger = useApiQuery<Ledger>(base, { mode, after: pager.after }, { placeholderData: keepPreviousData });

  const columns: Column<LedgerEntry>[] = [
    { key: 'at', header: 'When', className: 'nowrap', render: (row) => <DateTime value={row.created_at} /> },
    { key: 'kind', header: 'Kind', render: (row) => row.kind },
    { key: 'amount', header: 'Amount', className: 'num', render: (row) => <Credits value={row.amount} signed /> },
    { key: 'reason', header: 'Reason', className: 'wrap', render: (row) => row.reason ?? <span className="muted">—</span> },
    { key: 'ref', header: 'Reference', className: 'nowrap', render: (row) => <LedgerReference entry={row} /> },
  ];

  return (
    <Section
      title="Ledger"
      actions={
        <>
          <label className="visually-hidden" htmlFor="ledger-mode">
            Wallet
          </label>
          <select id="ledger-mode" value={mode} onChange={(event) => setMode(event.target.value as Mode)}>
            <option value="live">Live wallet</option>
            <option value="test">Test wallet</option>
          </select>
          <CanWrite>
            <button type="button" className="button button-primary" onClick={() => setGranting(true)}>
              Grant or adjust credits
            </button>
          </CanWrite>
        </>
      }
    >
      {done && (
        <Notice tone="ok">
          {done.entry.amount > 0 ? 'Granted' : 'Adjusted'} {formatCredits(Math.abs(done.entry.amount))} on the {done.mode} wallet. Available now:{' '}
          {formatCredits(done.available)}.
        </Notice>
      )}
      {ledger.isPending ? (
        <Loading label="Loading the ledger…" />
      ) : ledger.isError ? (
        <ErrorState error={ledger.error} retry={() => void ledger.refetch()} />
      ) : (
        <>
          <DataTable columns={columns} rows={ledger.data.entries} rowKey={(row) => row.id} empty="No ledger entries yet." caption={`${mode} ledger`} captionHidden />
          <Pager pager={pager} hasMore={ledger.data.has_more} nextCursor={ledger.data.entries.at(-1)?.id} label="Ledger pages" />
        </>
      )}
      <Modal open={granting} title="Grant or adjust credits" onClose={() => setGranting(false)}>
        <CreditForm
          customerId={props.customerId}
          initialMode={mode}
          onCancel={() => setGranting(false)}
          onDone={(result) => {
            setGranting(false);
            setDone(result);
            setMode(result.mode);
          }}
        />
      </Modal>
    </Section>
  );
}

function CreditForm(props: { customerId: string; initialMode: Mode; onCancel: () => void; onDone: (result: CreditResult) => void }) {
  const [mode, setMode] = useState<Mode>(props.initialMode);
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [reference, setReference] = useState('');
  const [amountError, setAmountError] = useState<string | null>(null);
  const credit = useApiMutation<{ amount: number; reason: string; reference?: string; mode: Mode }, CreditResult>({
    method: 'POST',
    path: `/public/customers/${props.customerId}/credits`,
    invalidate: [`/public/customers/${props.customerId}`, '/public/customers'],
    onSuccess: (result) => props.onDone(result),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = optionalInt(amount);
    if (value === null || Number.isNaN(value) || value === 0 || !Number.isSafeInteger(value)) {
      setAmountError('A whole number of credits, not zero: positive grants, negative takes away.');
      return;
    }
    setAmountError(null);
    credit.mutate({ amount: value, reason: reason.trim(), mode, ...(reference.trim() ? { reference: reference.trim() } : {}) });
  };

  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Wallet" error={fieldError(credit.error, 'mode')}>
        <select name="mode" value={mode} onChange={(event) => setMode(event.target.value as Mode)}>
          <option value="live">Live</option>
          <option value="test">Test</option>
        </select>
      </Field>
      <Field label="Amount (credits)" hint="Positive to grant, negative to adjust down." error={amountError ?? fieldError(credit.error, 'amount')}>
        <input name="amount" inputMode="numeric" required value={amount} onChange={(event) => setAmount(event.target.value)} data-autofocus />
      </Field>
      <Field label="Reason" hint="Recorded in the ledger and the audit log." error={fieldError(credit.error, 'reason')}>
        <input name="reason" required maxLength={500} value={reason} onChange={(event) => setReason(event.target.value)} />
      </Field>
      <Field
        label="Reference (optional)"
        hint="An id such as an invoice number: the same reference is never applied twice to this wallet."
        error={fieldError(credit.error, 'reference')}
      >
        <input name="reference" maxLength={255} pattern="[A-Za-z0-9._:\-]+" value={reference} onChange={(event) => setReference(event.target.value)} />
      </Field>
      <FormError error={credit.error} fields={['mode', 'amount', 'reason', 'reference']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={credit.isPending || !amount.trim() || !reason.trim()}>
          {credit.isPending ? 'Applying…' : 'Apply'}
        </button>
      </div>
    </form>
  );
}

/**
 * What a ledger entry refers to: the operator's reference (an invoice number) for grants and adjustments; for a
 * charge, its task — linked when the entry names it (`task_id`), else the hold (`res_…`) it settled, which the ledger
 * API names instead of the task.
 */
function LedgerReference(props: { entry: LedgerEntry }) {
  const { entry } = props;
  if (entry.task_id) {
    return (
      <>
        <span className="muted small">task </span>
        <Id value={entry.task_id} to={`/tasks/${entry.task_id}`} />
      </>
    );
  }
  if (entry.reference) return <code>{entry.reference}</code>;
  if (entry.ref_type === 'reservation' && entry.ref_id) {
    return (
      <span title={`The hold ${entry.ref_id} of a task, settled by this charge`}>
        <span className="muted small">task hold </span>
        <Id value={entry.ref_id} />
      </span>
    );
  }
  return entry.ref_id ? <Id value={entry.ref_id} /> : <span className="muted">—</span>;
}
