import { keepPreviousData } from '@tanstack/react-query';
import { Credits, DataTable, ErrorState, Id, Loading, Pager, Section, TimeAgo, usePager, type Column } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import { ModeSwitch, useMode } from '../../components';
import type { LedgerEntry, LedgerPage } from '../../types';

/** The wallet's ledger (`GET /console/api/billing/ledger?mode&limit&after`), newest first; the mode is in the URL. */
const TOPUP_ID = /\btop_[0-9A-Za-z]{22}\b/;

export function LedgerSection() {
  const [mode, setMode] = useMode();
  const pager = usePager(mode);
  const query = useApiQuery<LedgerPage>('/billing/ledger', { mode, limit: 50, after: pager.after }, { placeholderData: keepPreviousData });
  const entries = query.data ? (query.data.data ?? query.data.entries ?? []) : [];

  const columns: Column<LedgerEntry>[] = [
    { key: 'when', header: 'When', className: 'nowrap', render: (entry) => <TimeAgo value={entry.created_at} /> },
    { key: 'kind', header: 'Kind', render: (entry) => (entry.kind === 'topup' ? 'top-up' : entry.kind) },
    { key: 'amount', header: 'Amount', className: 'num', render: (entry) => <Credits value={entry.amount} signed /> },
    ...(entries.some((entry) => entry.balance_after !== undefined && entry.balance_after !== null)
      ? [{ key: 'after', header: 'Balance after', className: 'num' as const, render: (entry: LedgerEntry) => <Credits value={entry.balance_after ?? null} /> }]
      : []),
    {
      key: 'about',
      header: 'Details',
      className: 'wrap',
      render: (entry) => {
        const taskId = entry.task_id ?? (entry.ref_type === 'task' && entry.ref_id ? entry.ref_id : null);
        const topupId = entry.reason ? TOPUP_ID.exec(entry.reason)?.[0] : undefined;
        return (
          <div>
            {taskId && <Id value={taskId} to={`/tasks/${encodeURIComponent(taskId)}`} />}
            {topupId ? (
              <div className="small">
                Top-up <Id value={topupId} to={`/billing/topups/${topupId}`} />
              </div>
            ) : (
              entry.reason && <div className="small">{entry.reason}</div>
            )}
            {entry.reference && <div className="muted small">Reference {entry.reference}</div>}
            {!taskId && !entry.reason && !entry.reference && entry.ref_id && (
              <span className="muted small">
                {entry.ref_type === 'reservation' ? 'Task charge' : entry.ref_type} · <code className="mono">{entry.ref_id}</code>
              </span>
            )}
          </div>
        );
      },
    },
  ];

  return (
    <Section title={`Ledger (${mode})`} actions={<ModeSwitch mode={mode} onChange={setMode} />}>
      {query.isPending ? (
        <Loading label="Loading the ledger…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      ) : (
        <div aria-busy={query.isFetching}>
          {query.data.balance !== undefined && (
            <p className="muted">
              Balance <Credits value={query.data.balance} /> · reserved <Credits value={query.data.reserved ?? 0} /> · available{' '}
              <Credits value={query.data.available ?? 0} />
            </p>
          )}
          <DataTable columns={columns} rows={entries} rowKey={(entry) => entry.id} empty="No ledger entries yet." caption="Ledger" captionHidden />
          <Pager pager={pager} hasMore={query.data.has_more} nextCursor={entries.at(-1)?.id} label="Ledger pages" />
        </div>
      )}
    </Section>
  );
}
