import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Badge, DataTable, ErrorState, Field, Loading, Modal, PageHeader, Section, type Column } from '../../../shared/components';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { AdminModel, List, ModelType } from '../../types';
import { ModelForm, type ModelInput } from './ModelForm';
import { PublicPricePreview } from './PublicPricePreview';
import { MODEL_TYPES, summarizeRule } from './pricing';
import { CanWrite } from '../../session';

/**
 * Models and prices: every catalogue model, disabled ones included (`GET /admin/models`), with its price in force,
 * a filter by type and a search, "New model", and a preview of the public price list.
 */
export function ModelsPage() {
  const models = useApiQuery<List<AdminModel>>('/admin/models');
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const [type, setType] = useState<ModelType | ''>('');
  const [search, setSearch] = useState('');
  const [preview, setPreview] = useState(false);

  const create = useApiMutation<ModelInput, AdminModel>({
    method: 'POST',
    path: '/admin/models',
    invalidate: ['/admin/models'],
    onSuccess: (model) => navigate(`/models/${encodeURIComponent(model.id)}`),
  });
  const closeCreate = () => {
    setCreating(false);
    create.reset();
  };

  const needle = search.trim().toLowerCase();
  const rows = [...(models.data?.data ?? [])]
    .filter((row) => (!type || row.type === type) && (!needle || row.id.toLowerCase().includes(needle) || row.display_name.toLowerCase().includes(needle) || row.category.toLowerCase().includes(needle)))
    .sort((a, b) => a.sort_order - b.sort_order || a.id.localeCompare(b.id));

  const columns: Column<AdminModel>[] = [
    {
      key: 'name',
      header: 'Model',
      className: 'wrap',
      render: (row) => (
        <>
          <Link to={`/models/${encodeURIComponent(row.id)}`}>{row.display_name}</Link>
          <div className="muted small mono">{row.id}</div>
        </>
      ),
    },
    { key: 'type', header: 'Type', render: (row) => row.type },
    { key: 'category', header: 'Category', className: 'wrap', render: (row) => row.category },
    { key: 'enabled', header: 'Enabled', render: (row) => (row.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="neutral">disabled</Badge>) },
    { key: 'sort', header: 'Sort', className: 'num', render: (row) => row.sort_order },
    {
      key: 'price',
      header: 'Price in force',
      className: 'wrap',
      render: (row) =>
        row.pricing ? (
          <>
            {summarizeRule(row.pricing, row.capabilities)}
            <div className="muted small">
              version {row.price_version}
              {row.scheduled_prices.length > 0 && ` · ${row.scheduled_prices.length} scheduled`}
            </div>
          </>
        ) : (
          <span className="muted">no price</span>
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title="Models & prices"
        description="The catalogue, disabled models included. Prices are integer credits; a new price is a new version."
        actions={
          <>
            <a className="button" href="/models" target="_blank" rel="noopener">
              Public price page ↗
            </a>
            <CanWrite>
              <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
                New model
              </button>
            </CanWrite>
          </>
        }
      />
      <Section title="All models">
        <div className="toolbar">
          <Field label="Search" hint="Id, name or category.">
            <input type="search" name="search" value={search} onChange={(event) => setSearch(event.target.value)} />
          </Field>
          <Field label="Type">
            <select name="type" value={type} onChange={(event) => setType(event.target.value as ModelType | '')}>
              <option value="">All</option>
              {MODEL_TYPES.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {models.isPending ? (
          <Loading label="Loading models…" />
        ) : models.isError ? (
          <ErrorState error={models.error} retry={() => void models.refetch()} />
        ) : (
          <DataTable
            columns={columns}
            rows={rows}
            rowKey={(row) => row.id}
            caption="Models"
            captionHidden
            empty={needle || type ? 'No model matches.' : 'The catalogue is empty.'}
          />
        )}
      </Section>
      <Section
        title="Public price list preview"
        actions={
          <button type="button" className="button" aria-expanded={preview} aria-controls="price-preview" onClick={() => setPreview(!preview)}>
            {preview ? 'Hide preview' : 'Show preview'}
          </button>
        }
      >
        <div id="price-preview">
          {preview ? (
            <PublicPricePreview />
          ) : (
            <p className="muted">
              What customers see at <a href="/models">/models</a> and <code>GET /api/pricing</code>: enabled models at the price in force, with the default
              group's percent.
            </p>
          )}
        </div>
      </Section>
      <Modal open={creating} title="New model" wide onClose={closeCreate}>
        <ModelForm submitLabel="Create model" busy={create.isPending} error={create.error} onSubmit={(input) => create.mutate(input)} onCancel={closeCreate} />
      </Modal>
    </>
  );
}
