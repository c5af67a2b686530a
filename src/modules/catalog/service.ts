import type { Db } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { DEFAULT_CATALOG, DEFAULT_MODEL_FOR } from './default-catalog.js';
import type { CatalogModel, ModelType } from './types.js';

/**
 * The model catalog (table `models`). Reads are served from memory and refreshed every few seconds, so the hot path
 * never queries it; operator changes take effect within the refresh interval.
 */
const REFRESH_MS = 5_000;

export class CatalogService {
  private models = new Map<string, CatalogModel>();
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
          `INSERT INTO models (id, type, category, display_name, capabilities, pricing, list_price, sort_order, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
          [model.id, model.type, model.category, model.display_name, JSON.stringify(model.capabilities),
            JSON.stringify(model.pricing), model.list_price ? JSON.stringify(model.list_price) : null, index, now],
        );
      }
      return DEFAULT_CATALOG.length;
    });
    await this.refresh();
    return inserted;
  }

  async refresh(): Promise<void> {
    const result = await this.db.query<CatalogModel>('SELECT * FROM models ORDER BY sort_order, id');
    this.models = new Map(result.rows.map((row) => [row.id, row]));
    this.loadedAt = this.clock.now().getTime();
  }

  private async fresh(): Promise<Map<string, CatalogModel>> {
    if (this.clock.now().getTime() - this.loadedAt > REFRESH_MS || this.models.size === 0) await this.refresh();
    return this.models;
  }

  async list(): Promise<CatalogModel[]> {
    return [...(await this.fresh()).values()].filter((model) => model.enabled);
  }

  /** An enabled model, or 404 `not_found` with `param: model` (unknown models look like unknown ids). */
  async get(id: string): Promise<CatalogModel> {
    const model = (await this.fresh()).get(id);
    if (!model || !model.enabled) {
      throw new AppError('invalid_request', `The model "${id}" does not exist or is not available`, { param: 'model' });
    }
    return model;
  }

  /**
   * The id of the model a request of this type gets when it names none: the catalogue's default for the type
   * (DEFAULT_MODEL_FOR) when enabled, else the first enabled model of the type by sort order. With no such model the
   * catalogue's named default is returned anyway, so the request fails as an unavailable model would.
   */
  async defaultModel(type: ModelType): Promise<string> {
    const models = await this.fresh();
    const named = DEFAULT_MODEL_FOR[type];
    if (named !== undefined && models.get(named)?.enabled) return named;
    const first = [...models.values()].find((model) => model.enabled && model.type === type);
    if (first) return first.id;
    if (named !== undefined) return named;
    throw new AppError('invalid_request', `No ${type} model is available; name one in "model"`, { param: 'model' });
  }
}
