import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { isApiError } from '../../shared/api';
import { Credits, DateTime, Details, ErrorState, Loading, Modal, PageHeader, Section, StatusBadge } from '../../shared/components';
import { formatNumber } from '../../shared/format';
import { useApiMutation, useApiQuery } from '../../shared/query';
import type { Balance, Customer } from '../types';
import { CreditsPanel } from './customers/CreditsPanel';
import { CustomerForm, type CustomerInput } from './customers/CustomerForm';
import { KeysPanel } from './customers/KeysPanel';
import { TasksPanel } from './customers/TasksPanel';
import { CanWrite } from '../session';

/** One customer: profile and plan (edit), both wallets, the ledger and credit grants, API keys, tasks. */
export function CustomerDetailPage() {
  const { id = '' } = useParams();
  const customer = useApiQuery<Customer>(`/public/customers/${id}`);
  const back = <Link to="/customers">← Customers</Link>;

  if (customer.isPending) {
    return (
      <>
        <PageHeader title="Customer" back={back} />
        <Loading label="Loading the customer…" />
      </>
    );
  }
  if (customer.isError) {
    const missing = isApiError(customer.error) && customer.error.status === 404;
    return (
      <>
        <PageHeader title="Customer" back={back} />
        <ErrorState title={missing ? 'No such customer.' : 'Could not load this customer.'} error={customer.error} retry={missing ? undefined : () => void customer.refetch()} />
      </>
    );
  }
  return <CustomerView customer={customer.data} back={back} />;
}

function CustomerView(props: { customer: Customer; back: ReactNode }) {
  const { customer } = props;
  const [editing, setEditing] = useState(false);
  const update = useApiMutation<CustomerInput, Customer>({
    method: 'PATCH',
    path: `/public/customers/${customer.id}`,
    invalidate: ['/public/customers'],
    onSuccess: () => setEditing(false),
  });
  const plan = customer.plan;
  return (
    <>
      <PageHeader
        title={customer.name}
        back={props.back}
        description={<code>{customer.id}</code>}
        actions={
          <CanWrite>
            <button type="button" className="button" onClick={() => setEditing(true)}>
              Edit customer
            </button>
          </CanWrite>
        }
      />
      <Section title="Profile and plan">
        <Details
          items={[
            ['Status', <StatusBadge key="s" status={customer.status} />],
            ['Email', customer.email ?? '—'],
            ['Group', customer.group],
            ['Rate limit', plan.rate_limit_rpm === null ? 'none' : `${formatNumber(plan.rate_limit_rpm)} / min`],
            ['Max concurrent tasks', plan.max_concurrency === null ? 'none' : formatNumber(plan.max_concurrency)],
            ['Allowed models', plan.allowed_models === null ? 'all' : plan.allowed_models.join(', ') || 'none'],
            ['Created', <DateTime key="c" value={customer.created_at} />],
            ['Updated', <DateTime key="u" value={customer.updated_at} />],
          ]}
        />
      </Section>
      <div className="grid-2">
        <WalletCard title="Live wallet" balance={customer.credits.live} />
        <WalletCard title="Test wallet" balance={customer.credits.test} />
      </div>
      <CreditsPanel customerId={customer.id} />
      <KeysPanel customerId={customer.id} />
      <TasksPanel customerId={customer.id} />
      <Modal
        open={editing}
        title={`Edit ${customer.name}`}
        wide
        onClose={() => {
          setEditing(false);
          update.reset();
        }}
      >
        <CustomerForm
          initial={customer}
          submitLabel="Save changes"
          busy={update.isPending}
          error={update.error}
          onSubmit={(input) => update.mutate(input)}
          onCancel={() => {
            setEditing(false);
            update.reset();
          }}
        />
      </Modal>
    </>
  );
}

function WalletCard(props: { title: string; balance: Balance | null }) {
  return (
    <div className="card">
      <div className="card-label">{props.title}</div>
      <div className="card-value">
        <Credits value={props.balance?.available} />
      </div>
      <div className="card-sub">
        available · balance <Credits value={props.balance?.balance} /> · reserved <Credits value={props.balance?.reserved} />
      </div>
    </div>
  );
}
