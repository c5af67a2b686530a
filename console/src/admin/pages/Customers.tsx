import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import {
  CanWrite,
  Credits,
  DataTable,
  ErrorState,
  Field,
  Loading,
  Modal,
  PageHeader,
  Pager,
  Section,
  StatusBadge,
  TimeAgo,
  usePager,
  type Column,
} from '../../shared/components';
import { useApiMutation, useApiQuery } from '../../shared/query';
import type { Customer, List } from '../types';
import { CustomerForm, type CustomerInput } from './customers/CustomerForm';

/**
 * Customers: the list (`GET /public/customers?status&limit&after`, newest first), a status filter kept in the URL,
 * a search over the loaded page (the API has no text search; a customer id opens that customer), and "New customer".
 */
const PAGE_SIZE = 50;

export function CustomersPage() {
  const [params, setParams] = useSearchParams();
  const status = params.get('status') === 'active' || params.get('status') === 'suspended' ? params.get('status')! : '';
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const navigate = useNavigate();
  const pager = usePager(status);
  const list = useApiQuery<List<Customer>>('/public/customers', { status, limit: PAGE_SIZE, after: pager.after }, { placeholderData: keepPreviousData });

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

  const needle = search.trim().toLowerCase();
  const rows = (list.data?.data ?? []).filter(
    (row) => !needle || row.name.toLowerCase().includes(needle) || (row.email ?? '').toLowerCase().includes(needle) || row.id.toLowerCase() === needle,
  );
  const looksLikeId = /^cus_[A-Za-z0-9]+$/.test(search.trim());

  const columns: Column<Customer>[] = [
    {
      key: 'name',
      header: 'Name',
      className: 'wrap',
      render: (row) => (
        <>
          <Link to={`/customers/${row.id}`}>{row.name}</Link>
          <div className="muted small mono">{row.id}</div>
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
        <div className="toolbar">
          <Field label="Search" hint="Name or email on this page, or a customer id.">
            <input type="search" name="search" value={search} onChange={(event) => setSearch(event.target.value)} />
          </Field>
          <Field label="Status">
            <select name="status" value={status} onChange={(event) => setParams(event.target.value ? { status: event.target.value } : {}, { replace: true })}>
              <option value="">All</option>
              <option value="active">active</option>
              <option value="suspended">suspended</option>
            </select>
          </Field>
          {looksLikeId && (
            <button type="button" className="button" onClick={() => navigate(`/customers/${search.trim()}`)}>
              Open {search.trim()}
            </button>
          )}
        </div>
        {list.isPending ? (
          <Loading label="Loading customers…" />
        ) : list.isError ? (
          <ErrorState error={list.error} retry={() => void list.refetch()} />
        ) : (
          <>
            <DataTable
              columns={columns}
              rows={rows}
              rowKey={(row) => row.id}
              caption="Customers"
              captionHidden
              empty={needle ? 'No customer on this page matches the search.' : status ? `No ${status} customers.` : 'No customers yet.'}
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
