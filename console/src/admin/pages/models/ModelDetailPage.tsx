import { useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { isApiError } from '../../../shared/api';
import { Badge, ConfirmDialog, DateTime, Details, ErrorState, FormError, Loading, Modal, PageHeader, Section } from '../../../shared/components';
import { formatNumber } from '../../../shared/format';
import { pathKey, useApiMutation, useApiQuery } from '../../../shared/query';
import type { AdminModel } from '../../types';
import { JsonBlock } from '../audit/JsonBlock';
import { ModelForm, type ModelInput } from './ModelForm';
import { NewPriceForm } from './NewPriceForm';
import { PriceHistory } from './PriceHistory';
import { ruleRows, summarizeRule, variantEntries } from './pricing';
import { CanWrite } from '../../session';

/** One model: its settings (edit), the price in force, the price history, a new price version, delete. */
export function ModelDetailPage() {
  const { id = '' } = useParams();
  const path = `/admin/models/${encodeURIComponent(id)}`;
  const model = useApiQuery<AdminModel>(path);
  const back = <Link to="/models">← Models & prices</Link>;

  if (model.isPending) {
    return (
      <>
        <PageHeader title="Model" back={back} />
        <Loading label="Loading the model…" />
      </>
    );
  }
  if (model.isError) {
    const missing = isApiError(model.error) && model.error.status === 404;
    return (
      <>
        <PageHeader title="Model" back={back} />
        <ErrorState title={missing ? 'No such model.' : 'Could not load this model.'} error={model.error} retry={missing ? undefined : () => void model.refetch()} />
      </>
    );
  }
  return <ModelView model={model.data} path={path} back={back} />;
}

function ModelView(props: { model: AdminModel; path: string; back: ReactNode }) {
  const { model, path } = props;
  const navigate = useNavigate();
  const client = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);

  const update = useApiMutation<ModelInput, AdminModel>({
    method: 'PATCH',
    path,
    invalidate: ['/admin/models'],
    onSuccess: () => setEditing(false),
  });
  const remove = useApiMutation<void, unknown>({
    method: 'DELETE',
    path,
    // Leave first, then forget the deleted model and refresh the list (refetching it here would only answer 404).
    onSuccess: () => {
      navigate('/models', { replace: true });
      client.removeQueries({ queryKey: pathKey(path) });
      void client.invalidateQueries({ queryKey: pathKey('/admin/models') });
    },
  });

  const closeEdit = () => {
    setEditing(false);
    update.reset();
  };
  const closeDelete = () => {
    setDeleting(false);
    remove.reset();
  };
  const inUse = isApiError(remove.error) && remove.error.code === 'model_in_use';
  const rows = ruleRows(model.pricing, model.capabilities);
  const next = [...model.scheduled_prices].sort((a, b) => a.effective_at.localeCompare(b.effective_at))[0];
  const list = model.list_price;

  return (
    <>
      <PageHeader
        title={model.display_name}
        back={props.back}
        description={
          <>
            <code>{model.id}</code> · {model.type} · {model.enabled ? <Badge tone="ok">enabled</Badge> : <Badge>disabled</Badge>}
          </>
        }
        actions={
          <CanWrite>
            <button type="button" className="button" onClick={() => setEditing(true)}>
              Edit model
            </button>
            <button type="button" className="button button-danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          </CanWrite>
        }
      />
      <Section title="Settings">
        <Details
          items={[
            ['Type', model.type],
            ['Category', model.category],
            ['Enabled', model.enabled ? 'yes' : 'no'],
            ['Sort order', formatNumber(model.sort_order)],
            ['Description', model.description ?? <span className="muted">—</span>],
            ['Created', <DateTime key="c" value={model.created_at} />],
            ['Updated', <DateTime key="u" value={model.updated_at} />],
          ]}
        />
        <h3 className="subheading">Capabilities</h3>
        <JsonBlock value={model.capabilities} label="Capabilities" />
      </Section>
      <div className="grid-2">
        <Section title={model.price_version === null ? 'Price in force' : `Price in force (version ${model.price_version})`}>
          {rows.length === 0 ? (
            <p className="empty">No price in force: customers cannot use this model.</p>
          ) : (
            <table className="table">
              <caption className="visually-hidden">Price in force</caption>
              <thead>
                <tr>
                  <th scope="col">Variant</th>
                  <th scope="col" className="num">
                    Credits
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.variant}>
                    <td>{row.variant}</td>
                    <td className="num">
                      {formatNumber(row.credits)} <span className="muted small">{row.unit}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {next && (
            <p className="muted small">
              Next: version {next.version} from <DateTime value={next.effective_at} /> ({summarizeRule(next.pricing, model.capabilities)}).
            </p>
          )}
        </Section>
        <Section title="Official list price">
          {list ? (
            <Details
              items={[
                ['Amount', `${list.amount} ${list.currency} per ${list.unit === 'million_tokens' ? 'million tokens' : list.unit}`],
                ['Per variant', list.amount_by && Object.keys(list.amount_by).length ? variantEntries(list.amount_by, model.capabilities).map(([key, value]) => `${key} ${value}`).join(' · ') : '—'],
              ]}
            />
          ) : (
            <p className="empty">None recorded (informational: the public price list compares against it).</p>
          )}
        </Section>
      </div>
      <PriceHistory modelId={model.id} capabilities={model.capabilities} />
      <CanWrite>
        <NewPriceForm model={model} path={path} />
      </CanWrite>
      <Modal open={editing} title={`Edit ${model.display_name}`} wide onClose={closeEdit}>
        <ModelForm initial={model} submitLabel="Save changes" busy={update.isPending} error={update.error} onSubmit={(input) => update.mutate(input)} onCancel={closeEdit} />
      </Modal>
      <ConfirmDialog
        open={deleting}
        title={`Delete ${model.id}?`}
        confirmLabel="Delete model"
        danger
        busy={remove.isPending}
        onConfirm={() => remove.mutate()}
        onClose={closeDelete}
        error={
          inUse ? (
            <div className="form-error" role="alert">
              <strong>This model is in use and was not deleted.</strong>
              <p className="no-margin">{remove.error?.message}</p>
              <p className="no-margin">Remove it from every channel's models and wait for its open tasks to finish, or disable it instead.</p>
            </div>
          ) : (
            <FormError error={remove.error} />
          )
        }
      >
        <p>
          The model and its whole price history are removed. Customers' past tasks keep their records. A model that a channel maps or an open task uses
          cannot be deleted — disabling it hides it instead.
        </p>
      </ConfirmDialog>
    </>
  );
}
