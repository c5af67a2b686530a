import { DataTable, ErrorState, Loading, PageHeader, Section, type Column } from '../../shared/components';
import { formatNumber } from '../../shared/format';
import { useApiQuery } from '../../shared/query';
import type { ModelPricing, ModelView } from '../types';

/** Models & prices: `GET /console/api/models` — the models you can use at your own prices (your group's). */
const UNIT_LABEL: Record<string, string> = {
  second: 'per second',
  image: 'per image',
  track: 'per track',
  request: 'per request',
  million_tokens: 'per million tokens',
};

function PriceCell(props: { pricing: ModelPricing | null }) {
  const pricing = props.pricing;
  if (!pricing) return <span className="muted">—</span>;
  const unit = UNIT_LABEL[pricing.unit] ?? `per ${pricing.unit}`;
  if (pricing.input_credits_per_million !== undefined || pricing.output_credits_per_million !== undefined) {
    return (
      <div>
        <div>
          {formatNumber(pricing.input_credits_per_million ?? null)} cr input
          {pricing.output_credits_per_million !== undefined && <> · {formatNumber(pricing.output_credits_per_million)} cr output</>}
        </div>
        <div className="muted small">per million tokens</div>
      </div>
    );
  }
  if (pricing.credits_by && Object.keys(pricing.credits_by).length > 0) {
    return (
      <div>
        <ul className="plain-list">
          {Object.entries(pricing.credits_by).map(([variant, credits]) => (
            <li key={variant}>
              <code>{variant}</code>: {formatNumber(credits)} cr
            </li>
          ))}
        </ul>
        <div className="muted small">{unit}</div>
      </div>
    );
  }
  return (
    <div>
      {formatNumber(pricing.credits ?? null)} cr <span className="muted small">{unit}</span>
    </div>
  );
}

export function ModelsPage() {
  const query = useApiQuery<{ data: ModelView[] }>('/models');
  const columns: Column<ModelView>[] = [
    {
      key: 'id',
      header: 'Model',
      className: 'wrap',
      render: (model) => (
        <div>
          <code className="mono">{model.id}</code>
          {model.name && model.name !== model.id && <div className="muted small">{model.name}</div>}
        </div>
      ),
    },
    { key: 'type', header: 'Type', render: (model) => model.type },
    { key: 'price', header: 'Your price', render: (model) => <PriceCell pricing={model.pricing} /> },
  ];
  const byType = (query.data?.data ?? []).slice().sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id));
  return (
    <>
      <PageHeader title="Models & prices" description="The models your keys can use and what each costs you, in credits." />
      <Section title="Models">
        {query.isPending ? (
          <Loading label="Loading the models…" />
        ) : query.isError ? (
          <ErrorState error={query.error} retry={() => void query.refetch()} />
        ) : (
          <DataTable columns={columns} rows={byType} rowKey={(model) => model.id} empty="No models are available to you yet." caption="Models and prices" captionHidden />
        )}
        <p className="muted small">
          Prices are charged when a task succeeds; failed, cancelled and expired tasks cost nothing. <code>POST /v1/quotes</code> quotes a
          request before you send it.
        </p>
      </Section>
    </>
  );
}
