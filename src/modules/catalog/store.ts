import type { Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import type { Capabilities, CustomerGroup, ListPrice, ModelType, PriceRule, PriceVersion } from './types.js';

/**
 * The catalogue's tables (`models`, `model_prices`, `customer_groups`): the SQL of the operator's changes, run in the
 * caller's transaction (workflows/catalogue.ts writes the audit row beside it). Reads for the hot path go through
 * CatalogService's in-memory copy instead.
 */
export interface ModelRow {
  id: string;
  type: ModelType;
  category: string;
  display_name: string;
  description: string | null;
  capabilities: Capabilities;
  pricing: PriceRule | Record<string, never>;
  list_price: ListPrice | null;
  enabled: boolean;
  sort_order: number;
  created_at: Date;
  updated_at: Date;
}

export interface ModelFields {
  type: ModelType;
  category: string;
  display_name: string;
  description: string | null;
  capabilities: Capabilities;
  list_price: ListPrice | null;
  enabled: boolean;
  sort_order: number;
}

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

export async function listModelRows(db: Queryable): Promise<ModelRow[]> {
  return (await db.query<ModelRow>('SELECT * FROM models ORDER BY sort_order, id')).rows;
}

/** The row, locked for the change when `lock` (FOR UPDATE), or 404. */
export async function modelRow(db: Queryable, id: string, lock = false): Promise<ModelRow> {
  const result = await db.query<ModelRow>(`SELECT * FROM models WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  if (!result.rows[0]) throw new AppError('not_found', `No such model: ${id}`);
  return result.rows[0];
}

export async function insertModel(tx: Queryable, id: string, fields: ModelFields, now: Date): Promise<ModelRow> {
  const result = await tx.query<ModelRow>(
    `INSERT INTO models (id, type, category, display_name, description, capabilities, list_price, enabled, sort_order, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (id) DO NOTHING RETURNING *`,
    [id, fields.type, fields.category, fields.display_name, fields.description, json(fields.capabilities), json(fields.list_price),
      fields.enabled, fields.sort_order, now],
  );
  if (!result.rows[0]) throw new AppError('conflict', `A model with id "${id}" already exists`, { param: 'id' });
  return result.rows[0];
}

export async function updateModelRow(tx: Queryable, id: string, fields: ModelFields, now: Date): Promise<ModelRow> {
  const result = await tx.query<ModelRow>(
    `UPDATE models SET type = $2, category = $3, display_name = $4, description = $5, capabilities = $6, list_price = $7,
            enabled = $8, sort_order = $9, updated_at = $10
      WHERE id = $1 RETURNING *`,
    [id, fields.type, fields.category, fields.display_name, fields.description, json(fields.capabilities), json(fields.list_price),
      fields.enabled, fields.sort_order, now],
  );
  return result.rows[0]!;
}

export async function deleteModelRow(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM models WHERE id = $1', [id]);
}

/** Why a model cannot be deleted now (channels mapping it, open tasks of it), or null. */
export async function modelUse(tx: Queryable, id: string): Promise<string | null> {
  const channels = await tx.query<{ id: string }>('SELECT id FROM channels WHERE models ? $1 ORDER BY id LIMIT 5', [id]);
  if (channels.rows.length > 0) return `channels map it: ${channels.rows.map((row) => row.id).join(', ')}`;
  const tasks = await tx.query<{ count: number }>(
    "SELECT count(*)::int AS count FROM tasks WHERE model = $1 AND status IN ('queued', 'dispatching', 'submitted', 'running')",
    [id],
  );
  const open = tasks.rows[0]?.count ?? 0;
  return open > 0 ? `${open} task(s) of it are still open` : null;
}

/** The ids among `ids` the catalogue does not have (disabled models count as known). */
export async function unknownModels(db: Queryable, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const known = await db.query<{ id: string }>('SELECT id FROM models WHERE id = ANY($1::text[])', [ids]);
  const found = new Set(known.rows.map((row) => row.id));
  return ids.filter((id) => !found.has(id));
}

export async function listPriceVersions(db: Queryable, modelId?: string): Promise<PriceVersion[]> {
  const result = await db.query<PriceVersion>(
    'SELECT * FROM model_prices WHERE ($1::text IS NULL OR model_id = $1) ORDER BY model_id, version',
    [modelId ?? null],
  );
  return result.rows;
}

/** Appends the next version; models.pricing keeps the newest rule for readers of the row. */
export async function insertPriceVersion(tx: Queryable, modelId: string, pricing: PriceRule, effectiveAt: Date, now: Date): Promise<PriceVersion> {
  const result = await tx.query<PriceVersion>(
    `INSERT INTO model_prices (model_id, version, pricing, effective_at, created_at)
     SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, $4 FROM model_prices WHERE model_id = $1
     RETURNING *`,
    [modelId, JSON.stringify(pricing), effectiveAt, now],
  );
  await tx.query('UPDATE models SET pricing = $2, updated_at = $3 WHERE id = $1', [modelId, JSON.stringify(pricing), now]);
  return result.rows[0]!;
}

export async function listGroups(db: Queryable): Promise<CustomerGroup[]> {
  return (await db.query<CustomerGroup>('SELECT * FROM customer_groups ORDER BY id')).rows;
}

export async function groupRow(db: Queryable, id: string, lock = false): Promise<CustomerGroup | null> {
  const result = await db.query<CustomerGroup>(`SELECT * FROM customer_groups WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return result.rows[0] ?? null;
}

export async function insertGroup(tx: Queryable, group: { id: string; name: string; price_percent: number }, now: Date): Promise<CustomerGroup> {
  const result = await tx.query<CustomerGroup>(
    `INSERT INTO customer_groups (id, name, price_percent, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (id) DO NOTHING RETURNING *`,
    [group.id, group.name, group.price_percent, now],
  );
  if (!result.rows[0]) throw new AppError('conflict', `A group with id "${group.id}" already exists`, { param: 'id' });
  return result.rows[0];
}

export async function updateGroupRow(tx: Queryable, id: string, changes: { name?: string; price_percent?: number }, now: Date): Promise<CustomerGroup> {
  const result = await tx.query<CustomerGroup>(
    `UPDATE customer_groups SET name = COALESCE($2, name), price_percent = COALESCE($3, price_percent), updated_at = $4
      WHERE id = $1 RETURNING *`,
    [id, changes.name ?? null, changes.price_percent ?? null, now],
  );
  if (!result.rows[0]) throw new AppError('not_found', `No such group: ${id}`);
  return result.rows[0];
}
