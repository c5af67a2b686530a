import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { DataTable, ErrorState, FilterBar, Id, Loading, Modal, PageHeader, Pager, Section, TimeAgo, usePager, type Column, type FilterField } from '../../../shared/components';
import { formatDateTime } from '../../../shared/format';
import { useApiQuery } from '../../../shared/query';
import type { Account, AdminUser, AuditEvent, List } from '../../types';
import { useUrlFilters } from '../../../shared/hooks';
import { listError } from '../tasks/filters';
import { AuditDiff, diffRows } from './AuditDiff';
import { useRole } from '../../session';

/**
 * The audit log (`GET /admin/audit`), newest first: who (an admin's email, `operator-key`, or `api_key:<id>`), did
 * what, to which object, from where; filters by actor, action, target and time; each event's before/after as a
 * field-by-field comparison. Filters live in the URL, so a target's history can be linked (`?target_type=…&target_id=…`).
 */
const KEYS = ['actor', 'action', 'target_type', 'target_id', 'from', 'to'] as const;
const PAGE_SIZE = 50;

/** Where a target lives in the console, when it has a page (an account: its channel's page). */
function targetPath(type: string | null, id: string, accountChannel: Map<string, string>): string | undefined {
  const account = type === 'account' ? accountChannel.get(id) : undefined;
  const paths: Record<string, string> = {
    customer: `/customers/${id}`,
    channel: `/channels/${id}`,
    model: `/models/${encodeURIComponent(id)}`,
    task: `/tasks/${id}`,
    group: '/groups',
    admin: '/admins',
    ...(account ? { account: `/channels/${account}` } : {}),
  };
  return type ? paths[type] : undefined;
}

/** The fields that name a target readably, by preference: an admin's email, a model's display name, a name, a label. */
const LABEL_FIELDS: Record<string, string[]> = { admin: ['email'], model: ['display_name', 'name'], account: ['label'] };
const DEFAULT_LABEL_FIELDS = ['name', 'label'];

function labelIn(type: string | null, value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  for (const field of (type && LABEL_FIELDS[type]) || DEFAULT_LABEL_FIELDS) {
    const text = record[field];
    if (typeof text === 'string' && text.trim()) return text;
  }
  return null;
}

/**
 * A readable name per target, from every event on the page (an admin's email in one event's before/after names the
 * same admin in the events that record none), and for admins from the admin list when the viewer may read it.
 */
function targetLabels(rows: AuditEvent[], admins: AdminUser[] | undefined): Map<string, string> {
  const labels = new Map<string, string>();
  for (const admin of admins ?? []) labels.set(`admin:${admin.id}`, admin.email);
  for (const row of rows) {
    if (!row.target_id) continue;
    const key = `${row.target_type ?? ''}:${row.target_id}`;
    if (labels.has(key)) continue;
    const label = labelIn(row.target_type, row.after) ?? labelIn(row.target_type, row.before);
    if (label && label !== row.target_id) labels.set(key, label);
  }
  return labels;
}

function Target(props: { row: AuditEvent; label: string | undefined; path: string | undefined }) {
  const { row, label, path } = props;
  if (!row.target_id) return <span className="muted">—</span>;
  if (!label) return path ? <Id value={row.target_id} to={path} /> : <Id value={row.target_id} />;
  return (
    <>
      {path ? <Link to={path}>{label}</Link> : <span>{label}</span>}
      <div className="muted small">
        <Id value={row.target_id} />
      </div>
    </>
  );
}

/** What the details of an event hold, in words: `3 fields changed`, `state after`, `state before`, `no details`. */
function changeSummary(row: AuditEvent): string {
  const hasBefore = row.before !== null && row.before !== undefined;
  const hasAfter = row.after !== null && row.after !== undefined;
  if (hasBefore && hasAfter) {
    const changed = diffRows(row.before, row.after).filter((diff) => diff.change !== 'same').length;
    return changed === 1 ? '1 field changed' : `${changed} fields changed`;
  }
  if (hasAfter) return 'state after';
  if (hasBefore) return 'state before';
  return 'no details';
}

export function AuditPage() {
  const filters = useUrlFilters(KEYS);
  const pager = usePager(filters.key);
  const list = useApiQuery<List<AuditEvent>>('/admin/audit', { ...filters.values, limit: PAGE_SIZE, after: pager.after }, { placeholderData: keepPreviousData });
  const [open, setOpen] = useState<AuditEvent | null>(null);
  const accounts = useApiQuery<List<Account>>('/accounts');
  const accountChannel = new Map((accounts.data?.data ?? []).map((account) => [account.id, account.channel_id]));
  const isOwner = useRole() === 'owner';
  const admins = useApiQuery<{ data: AdminUser[] }>('/admins', undefined, { enabled: isOwner });
  const labels = targetLabels(list.data?.data ?? [], admins.data?.data);

  const columns: Column<AuditEvent>[] = [
    {
      key: 'time',
      header: 'When',
      className: 'nowrap',
      render: (row) => (
        <>
          <TimeAgo value={row.created_at} />
          <div className="muted small">{formatDateTime(row.created_at)}</div>
        </>
      ),
    },
    { key: 'actor', header: 'Actor', className: 'wrap', render: (row) => <span className="mono">{row.actor}</span> },
    { key: 'action', header: 'Action', render: (row) => <code>{row.action}</code> },
    {
      key: 'target',
      header: 'Target',
      className: 'wrap',
      render: (row) => (
        <>
          <span className="muted small">{row.target_type ?? '—'}</span>
          <div>
            <Target
              row={row}
              label={row.target_id ? labels.get(`${row.target_type ?? ''}:${row.target_id}`) : undefined}
              path={row.target_id ? targetPath(row.target_type, row.target_id, accountChannel) : undefined}
            />
          </div>
        </>
      ),
    },
    { key: 'ip', header: 'From', className: 'wrap', render: (row) => <span className="mono small" title={row.user_agent ?? undefined}>{row.ip ?? '—'}</span> },
    { key: 'summary', header: 'Recorded', className: 'nowrap', render: (row) => <span className="muted small">{changeSummary(row)}</span> },
    {
      key: 'details',
      header: <span className="visually-hidden">Details</span>,
      className: 'actions',
      render: (row) => (
        <button type="button" className="button button-small" onClick={() => setOpen(row)} aria-label={`Details of ${row.action} on ${row.target_id ?? row.id}`}>
          Details
        </button>
      ),
    },
  ];

  return (
    <>
      <PageHeader title="Audit log" description="Every change, who made it and from where. Newest first." />
      <Section title="Filters">
        <FilterBar key={filters.key} label="Audit filters" fields={AUDIT_FILTERS} values={filters.values} error={list.error} onApply={filters.apply} />
      </Section>
      <Section title="Events">
        {list.isPending ? (
          <Loading label="Loading the audit log…" />
        ) : list.isError ? (
          <ErrorState error={list.error} {...listError(list.error, () => void list.refetch())} />
        ) : (
          <>
            {list.isPlaceholderData && <Loading inline label="Updating…" />}
            <DataTable columns={columns} rows={list.data.data} rowKey={(row) => row.id} caption="Audit events" captionHidden empty="No event matches these filters." />
            <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Audit pages" />
          </>
        )}
      </Section>
      <Modal open={open !== null} title={open ? `${open.action} · ${open.target_type ?? ''} ${open.target_id ?? ''}` : ''} wide onClose={() => setOpen(null)}>
        {open && (
          <div className="stack">
            <p className="small">
              <span className="mono">{open.actor}</span> · {formatDateTime(open.created_at)} · {open.ip ?? 'unknown address'}
              {open.user_agent && <span className="muted"> · {open.user_agent}</span>} · <span className="mono muted">{open.id}</span>
            </p>
            <AuditDiff before={open.before} after={open.after} />
          </div>
        )}
      </Modal>
    </>
  );
}

const AUDIT_FILTERS: FilterField<(typeof KEYS)[number]>[] = [
  { key: 'actor', label: 'Actor', kind: 'text', hint: "An admin's email, operator-key, api_key:…" },
  { key: 'action', label: 'Action', kind: 'text', hint: 'e.g. channel.update' },
  { key: 'target_type', label: 'Target type', kind: 'text', hint: 'customer, channel, account, model…' },
  { key: 'target_id', label: 'Target id', kind: 'text' },
  { key: 'from', label: 'From', kind: 'datetime' },
  { key: 'to', label: 'Before', kind: 'datetime' },
];
