import type { Queryable } from '../db/pool.js';
import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { isoOrNull } from '../lib/time.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { versionInForce } from '../modules/catalog/service.js';
import {
  deleteModelRow, groupRow, insertGroup, insertModel, insertPriceVersion, listGroups, listModelRows, listPriceVersions, modelRow,
  modelUse, updateGroupRow, updateModelRow, type ModelFields, type ModelRow,
} from '../modules/catalog/store.js';
import type { Capabilities, CustomerGroup, ListPrice, ModelType, PriceRule, PriceVersion } from '../modules/catalog/types.js';
import { missingPrice, priceIncomplete, validateCapabilities, validateListPrice, validatePricing } from '../modules/catalog/validate.js';

/**
 * The operator's catalogue (API.md §8 "Models, prices and groups"): models, their price versions and the customer
 * groups. Each change and its audit row are written in one transaction, then this process's catalogue copy is
 * refreshed (the others follow within the catalogue's refresh interval).
 */
export type CatalogueDeps = Pick<Deps, 'db' | 'clock' | 'catalog'>;

export interface ModelInput {
  id: string;
  type: ModelType;
  category?: string;
  display_name: string;
  description?: string | null;
  capabilities: Capabilities;
  pricing?: PriceRule;
  list_price?: ListPrice | null;
  enabled?: boolean;
  sort_order?: number;
}

export interface ModelPatch {
  category?: string;
  display_name?: string;
  description?: string | null;
  capabilities?: Capabilities;
  pricing?: PriceRule;
  /** When the new pricing takes effect: now (default) or later. */
  effective_at?: Date;
  list_price?: ListPrice | null;
  enabled?: boolean;
  sort_order?: number;
}

export function priceVersionView(version: PriceVersion, now: Date) {
  const effective = new Date(version.effective_at);
  return {
    version: version.version, pricing: version.pricing, effective_at: effective.toISOString(),
    created_at: isoOrNull(new Date(version.created_at)), scheduled: effective.getTime() > now.getTime(),
  };
}

/** The operator's view of a model: the price in force now and the versions scheduled after it. */
export function adminModelView(row: ModelRow, versions: PriceVersion[], now: Date) {
  const current = versionInForce(versions, now);
  return {
    id: row.id, object: 'model', type: row.type, category: row.category, display_name: row.display_name, description: row.description,
    capabilities: row.capabilities, pricing: current?.pricing ?? null, price_version: current?.version ?? null,
    scheduled_prices: versions.filter((version) => new Date(version.effective_at).getTime() > now.getTime()).map((version) => priceVersionView(version, now)),
    list_price: row.list_price, enabled: row.enabled, sort_order: row.sort_order,
    created_at: isoOrNull(row.created_at), updated_at: isoOrNull(row.updated_at),
  };
}

export function groupView(group: CustomerGroup) {
  return {
    id: group.id, object: 'group', name: group.name, price_percent: group.price_percent,
    created_at: isoOrNull(group.created_at), updated_at: isoOrNull(group.updated_at),
  };
}

async function changed<T>(deps: CatalogueDeps, change: (tx: Queryable, now: Date) => Promise<T>): Promise<T> {
  const result = await deps.db.transaction((tx) => change(tx, deps.clock.now()));
  await deps.catalog.refresh();
  return result;
}

/**
 * M9: an enabled model needs a complete price in force now and in every version scheduled later, so enabling or
 * re-shaping never leaves a variant without a price.
 */
function checkComplete(id: string, type: ModelType, capabilities: Capabilities, versions: PriceVersion[], now: Date): void {
  const current = versionInForce(versions, now);
  const missing = missingPrice(type, capabilities, (current?.pricing as PriceRule | undefined) ?? null);
  if (missing) throw priceIncomplete(id, missing, 'now');
  for (const version of versions) {
    if (new Date(version.effective_at).getTime() <= now.getTime()) continue;
    const later = missingPrice(type, capabilities, version.pricing);
    if (later) throw priceIncomplete(id, later, `in price version ${version.version} (effective ${new Date(version.effective_at).toISOString()})`);
  }
}

export async function listModels(deps: CatalogueDeps) {
  const now = deps.clock.now();
  const [rows, versions] = await Promise.all([listModelRows(deps.db), listPriceVersions(deps.db)]);
  return rows.map((row) => adminModelView(row, versions.filter((version) => version.model_id === row.id), now));
}

export async function getModel(deps: CatalogueDeps, id: string) {
  const row = await modelRow(deps.db, id);
  return adminModelView(row, await listPriceVersions(deps.db, id), deps.clock.now());
}

export async function modelPrices(deps: CatalogueDeps, id: string) {
  await modelRow(deps.db, id);
  const now = deps.clock.now();
  const versions = await listPriceVersions(deps.db, id);
  const current = versionInForce(versions, now);
  return {
    object: 'list', model: id, price_version: current?.version ?? null,
    data: versions.map((version) => ({ ...priceVersionView(version, now), in_force: version.version === current?.version })),
  };
}

export async function createModel(deps: CatalogueDeps, input: ModelInput, audit: AuditContext) {
  validateCapabilities(input.type, input.capabilities);
  if (input.pricing) validatePricing(input.type, input.capabilities, input.pricing);
  validateListPrice(input.type, input.list_price ?? null);
  const fields: ModelFields = {
    type: input.type, category: input.category ?? input.type, display_name: input.display_name, description: input.description ?? null,
    capabilities: input.capabilities, list_price: input.list_price ?? null, enabled: input.enabled ?? false, sort_order: input.sort_order ?? 0,
  };
  return changed(deps, async (tx, now) => {
    const row = await insertModel(tx, input.id, fields, now);
    const versions = input.pricing ? [await insertPriceVersion(tx, row.id, input.pricing, now, now)] : [];
    if (fields.enabled) checkComplete(row.id, row.type, row.capabilities, versions, now);
    const view = adminModelView({ ...row, pricing: input.pricing ?? {} }, versions, now);
    await recordAudit(tx, audit, { action: 'model.create', targetType: 'model', targetId: row.id, after: view }, now);
    return view;
  });
}

export async function updateModel(deps: CatalogueDeps, id: string, patch: ModelPatch, audit: AuditContext) {
  if (patch.effective_at !== undefined && patch.pricing === undefined) {
    throw new AppError('invalid_request', 'effective_at applies to a new pricing; send pricing with it', { param: 'effective_at' });
  }
  return changed(deps, async (tx, now) => {
    const before = await modelRow(tx, id, true);
    const type = before.type;
    const capabilities = patch.capabilities ?? before.capabilities;
    if (patch.capabilities) validateCapabilities(type, capabilities);
    if (patch.pricing) validatePricing(type, capabilities, patch.pricing);
    if (patch.list_price !== undefined) validateListPrice(type, patch.list_price);
    const effectiveAt = patch.effective_at ?? now;
    if (effectiveAt.getTime() < now.getTime()) {
      throw new AppError('invalid_request', 'effective_at must be now or later; past prices cannot be rewritten', { param: 'effective_at' });
    }
    const fields: ModelFields = {
      type, category: patch.category ?? before.category, display_name: patch.display_name ?? before.display_name,
      description: patch.description !== undefined ? patch.description : before.description, capabilities,
      list_price: patch.list_price !== undefined ? patch.list_price : before.list_price,
      enabled: patch.enabled ?? before.enabled, sort_order: patch.sort_order ?? before.sort_order,
    };
    const beforeView = adminModelView(before, await listPriceVersions(tx, id), now);
    const row = await updateModelRow(tx, id, fields, now);
    const added = patch.pricing ? await insertPriceVersion(tx, id, patch.pricing, effectiveAt, now) : null;
    const versions = await listPriceVersions(tx, id);
    if (row.enabled) checkComplete(id, type, capabilities, versions, now);
    const view = adminModelView(row, versions, now);
    await recordAudit(tx, audit, { action: 'model.update', targetType: 'model', targetId: id, before: beforeView, after: view }, now);
    if (added) {
      await recordAudit(tx, audit, { action: 'model.price', targetType: 'model', targetId: id, after: priceVersionView(added, now) }, now);
    }
    return view;
  });
}

/** 409 `model_in_use` while a channel maps the model or a task of it is open; the price history goes with it. */
export async function deleteModel(deps: CatalogueDeps, id: string, audit: AuditContext): Promise<void> {
  await changed(deps, async (tx, now) => {
    const row = await modelRow(tx, id, true);
    const use = await modelUse(tx, id);
    if (use) throw new AppError('model_in_use', `${id} cannot be deleted: ${use}`);
    const before = adminModelView(row, await listPriceVersions(tx, id), now);
    await deleteModelRow(tx, id);
    await recordAudit(tx, audit, { action: 'model.delete', targetType: 'model', targetId: id, before, after: null }, now);
  });
}

export async function listCustomerGroups(deps: CatalogueDeps) {
  return (await listGroups(deps.db)).map(groupView);
}

export async function createGroup(deps: CatalogueDeps, input: { id: string; name: string; price_percent: number }, audit: AuditContext) {
  return changed(deps, async (tx, now) => {
    const view = groupView(await insertGroup(tx, input, now));
    await recordAudit(tx, audit, { action: 'group.create', targetType: 'group', targetId: input.id, after: view }, now);
    return view;
  });
}

/** A new percent applies to tasks reserved from now on; open tasks keep the percent they were reserved under (M10). */
export async function updateGroup(deps: CatalogueDeps, id: string, changes: { name?: string; price_percent?: number }, audit: AuditContext) {
  return changed(deps, async (tx, now) => {
    const before = await groupRow(tx, id, true);
    if (!before) throw new AppError('not_found', `No such group: ${id}`);
    const view = groupView(await updateGroupRow(tx, id, changes, now));
    await recordAudit(tx, audit, { action: 'group.update', targetType: 'group', targetId: id, before: groupView(before), after: view }, now);
    return view;
  });
}
