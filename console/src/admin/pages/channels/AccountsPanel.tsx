import { useState } from 'react';
import { ConfirmDialog, DataTable, ErrorState, FormError, Loading, Modal, Notice, Section, StatusBadge, TimeAgo, type Column } from '../../../shared/components';
import { formatNumber } from '../../../shared/format';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { Account, Channel, List } from '../../types';
import { AddAccountForm, ImportAccountsForm, LabelForm, RotateForm, TestAccountForm } from './AccountDialogs';
import { CanWrite, useCanWrite } from '../../session';

/**
 * A channel's credential pool (`GET /accounts?channel_id=`): status, cooldown, why an account was disabled, the last
 * upstream balance, use; add one, import many, test, enable/disable, relabel, rotate the secret, delete (wipe).
 */
type Dialog = { kind: 'add' | 'import' } | { kind: 'test' | 'rotate' | 'label' | 'delete'; account: Account };

function name(account: Account): string {
  return account.label ?? account.id;
}

/** DELETE wipes the secret and leaves the row disabled with this reason; only a new credential (rotate) revives it. */
const WIPED = 'deleted by operator';

export function AccountsPanel(props: { channel: Channel }) {
  const { channel } = props;
  const accounts = useApiQuery<List<Account>>('/accounts', { channel_id: channel.id });
  const canWrite = useCanWrite();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const setStatus = useApiMutation<{ account: Account; status: 'active' | 'disabled' }, Account>({
    method: 'PATCH',
    path: (vars) => `/accounts/${vars.account.id}`,
    body: (vars) => ({ status: vars.status }),
    invalidate: ['/accounts', '/admin/channels'],
    onSuccess: (account, vars) => setNotice(`${name(account)} ${vars.status === 'active' ? 'enabled' : 'disabled'}.`),
  });
  const remove = useApiMutation<Account, unknown>({
    method: 'DELETE',
    path: (account) => `/accounts/${account.id}`,
    invalidate: ['/accounts', '/admin/channels'],
    onSuccess: (_result, account) => {
      setDialog(null);
      setNotice(`${name(account)}: credential wiped and account disabled.`);
    },
  });
  const close = () => {
    setDialog(null);
    remove.reset();
  };
  const open = (next: Dialog) => {
    setNotice(null);
    setStatus.reset();
    setDialog(next);
  };

  const columns: Column<Account>[] = [
    {
      key: 'label',
      header: 'Account',
      className: 'wrap',
      render: (row) => (
        <>
          {row.label ?? <span className="muted">no label</span>}
          <div className="muted small mono">{row.id}</div>
        </>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      className: 'wrap',
      render: (row) => (
        <>
          <StatusBadge status={row.status} />
          {row.status === 'cooldown' && row.cooldown_until && (
            <div className="muted small">
              until <TimeAgo value={row.cooldown_until} />
            </div>
          )}
          {row.disabled_reason && <div className="small status-bad">{row.disabled_reason}</div>}
        </>
      ),
    },
    {
      key: 'balance',
      header: 'Upstream balance',
      className: 'num',
      render: (row) =>
        row.balance === null ? (
          <span className="muted">—</span>
        ) : (
          <>
            <span className={row.balance <= 0 ? 'status-bad' : undefined}>{formatNumber(row.balance)}</span>
            <div className="muted small">
              <TimeAgo value={row.balance_checked_at} />
            </div>
          </>
        ),
    },
    { key: 'uses', header: 'Uses', className: 'num', render: (row) => formatNumber(row.uses) },
    { key: 'last', header: 'Last used', className: 'nowrap', render: (row) => <TimeAgo value={row.last_used_at} /> },
    ...(canWrite
      ? [
          {
            key: 'actions',
            header: <span className="visually-hidden">Actions</span>,
            className: 'actions' as const,
            render: (row: Account) => (
              <AccountActions
                account={row}
                busy={setStatus.isPending}
                onOpen={(kind) => open({ kind, account: row })}
                onStatus={(status) => {
                  setNotice(null);
                  setStatus.mutate({ account: row, status });
                }}
              />
            ),
          },
        ]
      : []),
  ];

  const list = accounts.data?.data ?? [];
  const active = list.filter((row) => row.status === 'active').length;

  return (
    <Section
      title={accounts.data ? `Accounts (${active} active of ${list.length})` : 'Accounts'}
      actions={
        <CanWrite>
          <button type="button" className="button" onClick={() => open({ kind: 'import' })}>
            Import credentials
          </button>
          <button type="button" className="button button-primary" onClick={() => open({ kind: 'add' })}>
            Add account
          </button>
        </CanWrite>
      }
    >
      {notice && <Notice tone="ok">{notice}</Notice>}
      <FormError error={setStatus.error} />
      {accounts.isPending ? (
        <Loading label="Loading accounts…" />
      ) : accounts.isError ? (
        <ErrorState error={accounts.error} retry={() => void accounts.refetch()} />
      ) : (
        <DataTable columns={columns} rows={list} rowKey={(row) => row.id} caption="Accounts of this channel" captionHidden empty="No accounts: this channel cannot serve tasks until one is added." />
      )}

      <Modal open={dialog?.kind === 'add'} title={`Add an account to ${channel.name}`} onClose={close}>
        <AddAccountForm
          channel={channel}
          onCancel={close}
          onDone={(account) => {
            setDialog(null);
            setNotice(`Account ${name(account)} added.`);
          }}
        />
      </Modal>
      <Modal open={dialog?.kind === 'import'} title={`Import credentials into ${channel.name}`} wide onClose={close}>
        <ImportAccountsForm channel={channel} onClose={close} />
      </Modal>
      <Modal open={dialog?.kind === 'test'} title={dialog && 'account' in dialog ? `Test ${name(dialog.account)}` : 'Test'} wide onClose={close}>
        {dialog?.kind === 'test' && <TestAccountForm account={dialog.account} channel={channel} onClose={close} />}
      </Modal>
      <Modal open={dialog?.kind === 'rotate'} title={dialog && 'account' in dialog ? `Rotate the credential of ${name(dialog.account)}` : 'Rotate'} onClose={close}>
        {dialog?.kind === 'rotate' && (
          <RotateForm
            account={dialog.account}
            revive={dialog.account.status === 'disabled' && dialog.account.disabled_reason === WIPED}
            onCancel={close}
            onDone={() => {
              setNotice(`The credential of ${name(dialog.account)} was replaced.`);
              setDialog(null);
            }}
          />
        )}
      </Modal>
      <Modal open={dialog?.kind === 'label'} title="Edit label" onClose={close}>
        {dialog?.kind === 'label' && <LabelForm account={dialog.account} onCancel={close} onDone={() => setDialog(null)} />}
      </Modal>
      <ConfirmDialog
        open={dialog?.kind === 'delete'}
        title={dialog && 'account' in dialog ? `Delete ${name(dialog.account)}?` : 'Delete'}
        confirmLabel="Wipe credential"
        danger
        busy={remove.isPending}
        error={<FormError error={remove.error} />}
        onConfirm={() => dialog && 'account' in dialog && remove.mutate(dialog.account)}
        onClose={close}
      >
        <p>The secret is wiped and the account disabled for good; the row stays so past tasks still name it. To use the credential again, add it anew.</p>
      </ConfirmDialog>
    </Section>
  );
}

/** The row buttons. A wiped account (deleted) can only get a new credential (which revives it as disabled) or a label. */
function AccountActions(props: {
  account: Account;
  busy: boolean;
  onOpen: (kind: 'test' | 'rotate' | 'label' | 'delete') => void;
  onStatus: (status: 'active' | 'disabled') => void;
}) {
  const { account } = props;
  const who = name(account);
  const wiped = account.status === 'disabled' && account.disabled_reason === WIPED;
  const disabled = account.status === 'disabled';
  return (
    <div className="row-actions">
      {!wiped && (
        <button type="button" className="button button-small" onClick={() => props.onOpen('test')} aria-label={`Test ${who}`}>
          Test
        </button>
      )}
      {!wiped && (
        <button type="button" className="button button-small" disabled={props.busy} onClick={() => props.onStatus(disabled ? 'active' : 'disabled')} aria-label={`${disabled ? 'Enable' : 'Disable'} ${who}`}>
          {disabled ? 'Enable' : 'Disable'}
        </button>
      )}
      <button type="button" className="button button-small" onClick={() => props.onOpen('rotate')} aria-label={`${wiped ? 'Set a new credential for' : 'Rotate the credential of'} ${who}`}>
        {wiped ? 'New credential' : 'Rotate'}
      </button>
      <button type="button" className="button button-small" onClick={() => props.onOpen('label')} aria-label={`Edit the label of ${who}`}>
        Label
      </button>
      {!wiped && (
        <button type="button" className="button button-small" onClick={() => props.onOpen('delete')} aria-label={`Delete ${who}`}>
          Delete
        </button>
      )}
    </div>
  );
}
