import { keepPreviousData } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Credits, DataTable, ErrorState, Field, Id, Loading, Modal, PageHeader, Pager, Section, StatusBadge, TimeAgo, fieldError, usePager, type Column } from '../../shared/components';
import { useApiMutation, useApiQuery } from '../../shared/query';
import type { Customer, List } from '../types';
import { listError } from './tasks/filters';
import { CustomerForm, type CustomerInput } from './customers/CustomerForm';
import { CanWrite } from '../session';

/**
 * Customers: the list (`GET /public/customers?q&status&limit&after`, newest first), searched on the server (`q`: the
 * exact customer id, or part of the name or email) and filtered by status, both kept in the URL; and "New customer".
 */
const PAGE_SIZE = 50;

export function CustomersPage() {
  const [params, setParams] = useSearchParams();
  const status = params.get('status') === 'active' || params.get('status') === 'suspended' ? params.get('status')! : '';
  const q = params.get('q')?.trim() ?? '';
  const [creating, setCreating] = useState(false);
  const navigate = useNavigate();
  const pager = usePager(`${status}|${q}`);
  const list = useApiQuery<List<Customer>>('/public/customers', { q, status, limit: PAGE_SIZE, after: pager.after }, { placeholderData: keepPreviousData });
  const apply = (next: { q: string; status: string }) => {
    const clean: Record<string, string> = {};
    if (next.q.trim()) clean.q = next.q.trim();
    if (next.status) clean.status = next.status;
    setParams(clean, { replace: true });
  };

  const create = useApiMutation<CustomerInput, Customer>({
    method: 'POST',
    path: '/public/customers',
    invalidate: ['/public/customers'],
    onSuccess: (customer) => navigate(`/customers/${customer.id}`),
  });

  const closeCreate = () => {
    setCreating(false);
    create.reset();
  };


  const columns: Column<Customer>[] = [
    {
      key: 'name',
      header: 'Name',
      className: 'wrap',
      render: (row) => (
        <>
          <Link to={`/customers/${row.id}`}>{row.name}</Link>
          <div className="muted small">
            <Id value={row.id} full />
          </div>
        </>
      ),
    },
    { key: 'email', header: 'Email', className: 'wrap', render: (row) => row.email ?? <span className="muted">—</span> },
    { key: 'status', header: 'Status', render: (row) => <StatusBadge status={row.status} /> },
    { key: 'group', header: 'Group', render: (row) => row.group },
    { key: 'live', header: 'Live available', className: 'num', render: (row) => <Credits value={row.credits.live?.available} /> },
    { key: 'test', header: 'Test available', className: 'num', render: (row) => <Credits value={row.credits.test?.available} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (row) => <TimeAgo value={row.created_at} /> },
  ];

  return (
    <>
      <PageHeader
        title="Customers"
        actions={
          <CanWrite>
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              New customer
            </button>
          </CanWrite>
        }
      />
      <Section title="All customers">
        <CustomerSearch key={`${q}|${status}`} q={q} status={status} error={list.error} onApply={apply} />
        {list.isPending ? (
          <Loading label="Loading customers…" />
        ) : list.isError ? (
          <ErrorState error={list.error} {...listError(list.error, () => void list.refetch())} />
        ) : (
          <>
            <DataTable
              columns={columns}
              rows={list.data.data}
              rowKey={(row) => row.id}
              caption="Customers"
              captionHidden
              empty={q ? 'No customer matches the search.' : status ? `No ${status} customers.` : 'No customers yet.'}
            />
            <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Customer pages" />
          </>
        )}
      </Section>
      <Modal open={creating} title="New customer" onClose={closeCreate}>
        <CustomerForm submitLabel="Create customer" busy={create.isPending} error={create.error} onSubmit={(input) => create.mutate(input)} onCancel={closeCreate} />
      </Modal>
    </>
  );
}

/** The search form: a query and a status, applied together (the select does not act on its own). */
function CustomerSearch(props: { q: string; status: string; error: unknown; onApply: (next: { q: string; status: string }) => void }) {
  const [q, setQ] = useState(props.q);
  const [status, setStatus] = useState(props.status);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply({ q, status });
  };
  return (
    <form className="toolbar" onSubmit={submit} role="search" aria-label="Customer search">
      <Field label="Search" hint="A customer id, or part of a name or email." error={fieldError(props.error, 'q')}>
        <input type="search" name="q" value={q} onChange={(event) => setQ(event.target.value)} spellCheck={false} />
      </Field>
      <Field label="Status" error={fieldError(props.error, 'status')}>
        <select name="status" value={status} onChange={(event) => setStatus(event.target.value)}>
          <option value="">All</option>
          <option value="active">active</option>
          <option value="suspended">suspended</option>
        </select>
      </Field>
      <div className="actions toolbar-actions">
        <button type="submit" className="button button-primary">
          Search
        </button>
        {(props.q || props.status) && (
          <button type="button" className="button" onClick={() => props.onApply({ q: '', status: '' })}>
            Clear
          </button>
        )}
      </div>
    </form>
  );
}
