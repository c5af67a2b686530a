import type { CatalogModel, ModelType, PriceRule } from './types.js';

/**
 * The public price list (`GET /models`, `GET /api/pricing`, API.md §11): every enabled model that has a price, its
 * limits, and one line per priced variant in credits and in money. This is the one place that turns catalogue prices
 * into money, so the HTML page and the JSON agree. Money is exact: `credits / creditsPerUnit` written as a decimal
 * string (rounded half-up past 12 decimals only when the division does not terminate).
 */
export interface PriceListOptions {
  /** ISO 4217 code (config `PRICE_CURRENCY`). */
  currency: string;
  /** Credits that make one unit of the currency (config `CREDITS_PER_CURRENCY_UNIT`). */
  creditsPerUnit: number;
}

export interface ListPrice {
  amount: number;
  currency: string;
  unit: string;
}

/** One priced variant: what one `unit` costs. Token prices are per million tokens. */
export interface PriceLine {
  /** The resolution, quality or size this line prices; `input`/`output` for tokens; null for a flat price. */
  variant: string | null;
  unit: 'second' | 'image' | 'track' | '1M tokens';
  credits: number;
  /** `credits / creditsPerUnit`, a decimal string in `currency`. */
  amount: string;
  /** The official list price of the same unit, when the catalogue carries one. */
  list_price: ListPrice | null;
  /** Whole percent below the list price (rounded down), when the list price is in `currency` and higher. */
  discount_percent: number | null;
}

export interface PriceListEntry {
  id: string;
  name: string;
  description: string | null;
  type: ModelType;
  category: string;
  created: number;
  input_modalities: string[];
  output_modalities: string[];
  limits: Record<string, unknown>;
  lines: PriceLine[];
  list_price: ListPrice | null;
  /** The smallest `discount_percent` over the lines that have one ("N % or more below list"). */
  discount_percent: number | null;
}

export const MODEL_TYPES: readonly ModelType[] = ['video', 'image', 'music', 'chat', 'embedding'];

const OUTPUT: Record<ModelType, string> = { video: 'video', image: 'image', music: 'audio', chat: 'text', embedding: 'embedding' };

/** What a model takes in: prompts always, reference media where its limits allow them. */
function inputModalities(model: CatalogModel): string[] {
  const caps = model.capabilities;
  const inputs = ['text'];
  if (model.type === 'video' || model.type === 'image') {
    if ((caps.max_reference_images ?? 0) > 0) inputs.push('image');
    if ((caps.max_reference_videos ?? 0) > 0) inputs.push('video');
    if ((caps.max_reference_audios ?? 0) > 0) inputs.push('audio');
  }
  return inputs;
}

/** Limits a buyer compares: the capabilities without defaults and internal queue settings. */
function limitsOf(model: CatalogModel): Record<string, unknown> {
  const limits: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(model.capabilities)) {
    if (key === 'max_queued' || key.startsWith('default_') || value === undefined) continue;
    limits[key] = value;
  }
  return limits;
}

/** `numerator / denominator` as an exact decimal string (at most `scale` decimals, half-up, no trailing zeros). */
export function decimal(numerator: bigint, denominator: bigint, scale = 12): string {
  const negative = numerator < 0n;
  const factor = 10n ** BigInt(scale);
  const scaled = ((negative ? -numerator : numerator) * factor * 2n + denominator) / (denominator * 2n);
  const whole = scaled / factor;
  const fraction = (scaled % factor).toString().padStart(scale, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Credits as money in the configured currency. */
export function creditsToAmount(credits: number, options: PriceListOptions): string {
  return decimal(BigInt(credits), BigInt(options.creditsPerUnit));
}

function sameUnit(listUnit: string, unit: PriceLine['unit']): boolean {
  const normal = listUnit.trim().toLowerCase().replace(/s$/, '');
  if (unit === '1M tokens') return ['1m token', 'million token', 'million_token', '1m_token'].includes(normal);
  return normal === unit;
}

/**
 * The list price of one variant: `list_price` may carry per-variant amounts (`amount_by`, keyed like the prices) and
 * per-direction token amounts (`input`/`output` in `amount_by`); otherwise the model's one amount applies.
 */
function listPriceFor(model: CatalogModel, variant: string | null): ListPrice | null {
  const list = model.list_price as (ListPrice & { amount_by?: Record<string, number> }) | null;
  if (!list || typeof list !== 'object') return null;
  const byVariant = variant !== null ? list.amount_by?.[variant] : undefined;
  const amount = typeof byVariant === 'number' ? byVariant : list.amount;
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) return null;
  return { amount, currency: String(list.currency ?? ''), unit: String(list.unit ?? '') };
}

function discount(credits: number, list: ListPrice | null, unit: PriceLine['unit'], options: PriceListOptions): number | null {
  if (!list || list.amount <= 0 || list.currency.toUpperCase() !== options.currency || !sameUnit(list.unit, unit)) return null;
  const ours = credits / options.creditsPerUnit;
  if (ours >= list.amount) return null;
  return Math.floor(((list.amount - ours) / list.amount) * 100 + 1e-9);
}

function line(model: CatalogModel, variant: string | null, unit: PriceLine['unit'], credits: number, options: PriceListOptions): PriceLine {
  const list = listPriceFor(model, variant);
  return { variant, unit, credits, amount: creditsToAmount(credits, options), list_price: list, discount_percent: discount(credits, list, unit, options) };
}

/**
 * The sets of values a media rule's `credits_by` is keyed by, in the order pricing.ts `unitCredits` tries them:
 * resolutions for video; qualities, then sizes, for images. Every request carries one value of each set.
 */
function variantSets(model: CatalogModel): string[][] {
  const caps = model.capabilities;
  if (model.type === 'video') return [caps.resolutions ?? []];
  if (model.type === 'image') return [caps.qualities ?? [], caps.sizes ?? []];
  return [];
}

function validCredits(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Every priced variant of a model; empty when the model has no price at all. */
export function priceLines(model: CatalogModel, options: PriceListOptions): PriceLine[] {
  const rule: PriceRule | null | undefined = model.pricing;
  if (!rule || typeof rule !== 'object') return [];
  if (rule.unit === 'token') {
    const lines: PriceLine[] = [];
    if (validCredits(rule.input_credits_per_million)) lines.push(line(model, 'input', '1M tokens', rule.input_credits_per_million, options));
    if (validCredits(rule.output_credits_per_million)) lines.push(line(model, 'output', '1M tokens', rule.output_credits_per_million, options));
    return lines;
  }
  if (rule.unit !== 'second' && rule.unit !== 'image' && rule.unit !== 'track') return [];
  const sets = variantSets(model);
  const order = sets.flat();
  const rank = (variant: string) => (order.includes(variant) ? order.indexOf(variant) : order.length);
  // In the model's own order (resolutions low to high, as the catalogue lists them), not the stored key order.
  const by = Object.entries(rule.credits_by ?? {})
    .filter(([, credits]) => validCredits(credits))
    .sort(([a], [b]) => rank(a) - rank(b));
  const lines = by.map(([variant, credits]) => line(model, variant, rule.unit as PriceLine['unit'], credits, options));
  if (validCredits(rule.credits)) {
    const covered = new Set(by.map(([variant]) => variant));
    // A flat price next to per-variant prices prices what they leave out; none is left when one set is fully priced.
    const complete = sets.some((set) => set.length > 0 && set.every((variant) => covered.has(variant)));
    if (by.length === 0) lines.push(line(model, null, rule.unit, rule.credits, options));
    else if (!complete) lines.push(line(model, 'other', rule.unit, rule.credits, options));
  }
  return lines;
}

/** The price list: enabled models with at least one price, in catalogue order, optionally of one type. */
export function buildPriceList(models: CatalogModel[], options: PriceListOptions, type?: ModelType): PriceListEntry[] {
  const entries: PriceListEntry[] = [];
  for (const model of models) {
    if (!model.enabled || (type !== undefined && model.type !== type)) continue;
    const lines = priceLines(model, options);
    if (lines.length === 0) continue;
    const discounts = lines.map((entry) => entry.discount_percent).filter((value): value is number => value !== null);
    const description = (model as CatalogModel & { description?: unknown }).description;
    entries.push({
      id: model.id,
      name: model.display_name,
      description: typeof description === 'string' && description !== '' ? description : null,
      type: model.type,
      category: model.category,
      created: Math.floor(new Date(model.created_at).getTime() / 1000),
      input_modalities: inputModalities(model),
      output_modalities: [OUTPUT[model.type] ?? model.type],
      limits: limitsOf(model),
      lines,
      list_price: listPriceFor(model, null),
      discount_percent: discounts.length > 0 ? Math.min(...discounts) : null,
    });
  }
  return entries;
}

/** Per-token money (OpenRouter's `pricing.prompt`/`completion` convention) from credits per million tokens. */
export function perTokenAmount(creditsPerMillion: number, options: PriceListOptions): string {
  return decimal(BigInt(creditsPerMillion), BigInt(options.creditsPerUnit) * 1_000_000n, 15);
}

/**
 * One model in `GET /api/pricing`, named after OpenRouter's models API where it fits (`id`, `name`, `description`,
 * `created`, `architecture`, `context_length`, `pricing` with per-token `prompt`/`completion` and per-image `image`
 * as decimal strings in the currency); `prices` lists every variant in credits and money.
 */
export function pricingView(entry: PriceListEntry, options: PriceListOptions, model: CatalogModel): Record<string, unknown> {
  const pricing: Record<string, string> = {};
  if (model.pricing.unit === 'token') {
    const input = entry.lines.find((item) => item.variant === 'input');
    const output = entry.lines.find((item) => item.variant === 'output');
    if (input) pricing.prompt = perTokenAmount(input.credits, options);
    if (output) pricing.completion = perTokenAmount(output.credits, options);
  } else {
    const lowest = Math.min(...entry.lines.map((item) => item.credits));
    pricing[model.pricing.unit] = creditsToAmount(lowest, options);
  }
  return {
    id: entry.id,
    name: entry.name,
    description: entry.description,
    created: entry.created,
    type: entry.type,
    category: entry.category,
    architecture: {
      modality: `${entry.input_modalities.join('+')}->${entry.output_modalities.join('+')}`,
      input_modalities: entry.input_modalities,
      output_modalities: entry.output_modalities,
    },
    context_length: typeof entry.limits.context_window === 'number' ? entry.limits.context_window : null,
    limits: entry.limits,
    pricing: { currency: options.currency, unit: model.pricing.unit, ...pricing },
    prices: entry.lines,
    list_price: entry.list_price,
    discount_percent: entry.discount_percent,
  };
}
