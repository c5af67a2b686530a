import { Badge, DataTable, DateTime, ErrorState, Loading, Section, type Column } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import type { PriceHistory as History, PriceVersion } from '../../types';
import { summarizeRule } from './pricing';

/** `GET /admin/models/:id/prices`: every price version, the one in force marked, scheduled ones with their date. */
export function PriceHistory(props: { modelId: string; capabilities: Record<string, unknown> | null }) {
  const history = useApiQuery<History>(`/admin/models/${encodeURIComponent(props.modelId)}/prices`);
  const columns: Column<PriceVersion>[] = [
    { key: 'version', header: 'Version', className: 'num', render: (row) => row.version },
    {
      key: 'state',
      header: 'State',
      render: (row) => (row.in_force ? <Badge tone="ok">in force</Badge> : row.scheduled ? <Badge tone="info">scheduled</Badge> : <Badge>past</Badge>),
    },
    { key: 'effective', header: 'Effective at', className: 'nowrap', render: (row) => <DateTime value={row.effective_at} /> },
    { key: 'price', header: 'Price', className: 'wrap', render: (row) => summarizeRule(row.pricing, props.capabilities) },
    { key: 'created', header: 'Created', className: 'nowrap', render: (row) => <DateTime value={row.created_at} /> },
  ];
  return (
    <Section title="Price history">
      {history.isPending ? (
        <Loading label="Loading the price history…" />
      ) : history.isError ? (
        <ErrorState error={history.error} retry={() => void history.refetch()} />
      ) : (
        <DataTable
          columns={columns}
          rows={[...history.data.data].reverse()}
          rowKey={(row) => String(row.version)}
          caption="Price versions, newest first"
          captionHidden
          empty="No price yet."
        />
      )}
    </Section>
  );
}
