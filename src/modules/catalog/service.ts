import type { Db, Queryable } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { DEFAULT_CATALOG, DEFAULT_MODEL_FOR } from './default-catalog.js';
import { groupRow, listGroups, listModelRows, listPriceVersions, type ModelRow } from './store.js';
import type { CatalogModel, CustomerGroup, ModelType, PriceRule, PriceVersion } from './types.js';

/**
 * The model catalog (tables `models`, `model_prices`, `customer_groups`). Reads are served from memory and refreshed
 * every few seconds, so the hot path never queries it; operator changes refresh this process at once and the others
 * within the refresh interval. A model's price is the version in force at the time of the read (SEMANTICS M9).
 */
const REFRESH_MS = 5_000;

interface Entry {
  row: ModelRow;
  /** Price versions, oldest first. */
  versions: PriceVersion[];
  /**
   * The model at the version in force, kept for the span of time in which that version stays in force: from its
   * effective time to the next later one's (the hot path reads a model per request; the entry is replaced on refresh).
   */
  current?: { model: CatalogModel; from: number; until: number };
}

/** The version in force at `now`: the latest effective_at ≤ now, the higher version on a tie (M9). */
export function versionInForce(versions: PriceVersion[], now: Date): PriceVersion | null {
  let best: PriceVersion | null = null;
  for (const version of versions) {
    if (new Date(version.effective_at).getTime() > now.getTime()) continue;
    if (!best || new Date(version.effective_at).getTime() >= new Date(best.effective_at).getTime()) best = version;
  }
  return best;
}

function priced(row: ModelRow, version: PriceVersion): CatalogModel {
  const { updated_at: _updated, pricing: _newest, ...rest } = row;
  return { ...rest, pricing: version.pricing as PriceRule, price_version: version.version };
}

/** The entry's model at the version in force at `now` (versionInForce), priced once per span of that version. */
function inForce(entry: Entry, now: Date): CatalogModel | null {
  const at = now.getTime();
  const current = entry.current;
  if (current && current.from <= at && at < current.until) return current.model;
  const version = versionInForce(entry.versions, now);
  if (!version) return null;
  let until = Infinity;
  for (const other of entry.versions) {
    const effective = new Date(other.effective_at).getTime();
    if (effective > at && effective < until) until = effective;
  }
  const model = Object.freeze(priced(entry.row, version));
  entry.current = { model, from: new Date(version.effective_at).getTime(), until };
  return model;
}

export class CatalogService {
  private entries = new Map<string, Entry>();
  private groups = new Map<string, CustomerGroup>();
  private loadedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Seeds the default catalog into an empty table (first start), once even with several instances starting. */
  async seedDefaults(): Promise<number> {
    const now = this.clock.now();
    const inserted = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7341003)');
      const existing = await tx.query('SELECT 1 FROM models LIMIT 1');
      if (existing.rows.length > 0) return 0;
      for (const [index, model] of DEFAULT_CATALOG.entries()) {
        await tx.query(
          `INSERT INTO models (id, type, category, display_name, description, capabilities, pricing, list_price, sort_order, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
          [model.id, model.type, model.category, model.display_name, model.description ?? null, JSON.stringify(model.capabilities),
            JSON.stringify(model.pricing), model.list_price ? JSON.stringify(model.list_price) : null, index, now],
        );
        await tx.query('INSERT INTO model_prices (model_id, version, pricing, effective_at, created_at) VALUES ($1, 1, $2, $3, $3)', [
          model.id, JSON.stringify(model.pricing), now,
        ]);
      }
      return DEFAULT_CATALOG.length;
    });
    await this.refresh();
    return inserted;
  }

  async refresh(): Promise<void> {
    const [rows, versions, groups] = await Promise.all([listModelRows(this.db), listPriceVersions(this.db), listGroups(this.db)]);
    const entries = new Map<string, Entry>(rows.map((row) => [row.id, { row, versions: [] }]));
    for (const version of versions) entries.get(version.model_id)?.versions.push(version);
    this.entries = entries;
    this.groups = new Map(groups.map((group) => [group.id, group]));
    this.loadedAt = this.clock.now().getTime();
  }

  private async fresh(): Promise<Map<string, Entry>> {
    if (this.clock.now().getTime() - this.loadedAt > REFRESH_MS || this.entries.size === 0) await this.refresh();
    return this.entries;
  }

  /** Every enabled model with a price in force now, at that price. */
  async list(): Promise<CatalogModel[]> {
    const now = this.clock.now();
    const models: CatalogModel[] = [];
    for (const entry of (await this.fresh()).values()) {
      const version = entry.row.enabled ? versionInForce(entry.versions, now) : null;
      if (version) models.push(priced(entry.row, version));
    }
    return models;
  }

  /** An enabled model at the price in force now, or 400 with `param: model` (unknown models look like unknown ids). */
  async get(id: string): Promise<CatalogModel> {
    const entry = (await this.fresh()).get(id);
    const model = entry?.row.enabled ? inForce(entry, this.clock.now()) : null;
    if (!model) throw new AppError('invalid_request', `The model "${id}" does not exist or is not available`, { param: 'model' });
    return model;
  }

  /**
   * The model at the price version a task was reserved under (M9), enabled or not; null when the model or the
   * version is gone. Without a version (tasks older than price versions) the price in force now.
   */
  async atVersion(id: string, version: number | null): Promise<CatalogModel | null> {
    const find = (entries: Map<string, Entry>) => {
      const entry = entries.get(id);
      if (!entry) return null;
      const chosen = version === null ? versionInForce(entry.versions, this.clock.now()) : entry.versions.find((row) => row.version === version);
      return chosen ? priced(entry.row, chosen) : null;
    };
    const found = find(await this.fresh());
    if (found) return found;
    await this.refresh();
    return find(this.entries);
  }

  /**
   * The price percent of a customer group (M10), from the same in-memory copy; 100 for a group the catalogue does
   * not know (customers.group_name references customer_groups, so only a group created since the last refresh).
   */
  async percentFor(group: string): Promise<number> {
    await this.fresh();
    return this.groups.get(group)?.price_percent ?? 100;
  }

  /** Inside a change's transaction: the group must exist (400 `param: group`), and stays while the change commits. */
  async requireGroup(tx: Queryable, group: string): Promise<void> {
    if (!(await groupRow(tx, group, false))) {
      throw new AppError('invalid_request', `No such group "${group}"; create it with POST /api/admin/groups first`, { param: 'group' });
    }
  }

  /**
   * The id of the model a request of this type gets when it names none: the catalogue's default for the type
   * (DEFAULT_MODEL_FOR) when enabled, else the first enabled model of the type by sort order. With no such model the
   * catalogue's named default is returned anyway, so the request fails as an unavailable model would.
   */
  async defaultModel(type: ModelType): Promise<string> {
    const models = await this.list();
    const named = DEFAULT_MODEL_FOR[type];
    if (named !== undefined && models.some((model) => model.id === named)) return named;
    const first = models.find((model) => model.type === type);
    if (first) return first.id;
    if (named !== undefined) return named;
    throw new AppError('invalid_request', `No ${type} model is available; name one in "model"`, { param: 'model' });
  }
}
