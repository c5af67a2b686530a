import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../../lib/errors.js';
import type { Capabilities, ListPrice, ModelType, PriceRule } from './types.js';

/**
 * Operator input for the catalogue (API.md §8 models): capabilities are checked against the schema of the model's
 * type, prices against the variants the capabilities allow (SEMANTICS M1, M9). Every failure is a 400 that names the
 * field at fault in `param` (dotted path).
 */
const Strict = { additionalProperties: false } as const;
const Int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const Name = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9:._-]+$' });
const Names = Type.Array(Name, { minItems: 1, maxItems: 50, uniqueItems: true });
const Opt = Type.Optional;

const COMMON = { max_queued: Opt(Int(1, 1_000_000)) };
const PROMPT = { max_prompt_length: Opt(Int(1, 100_000)) };

const CAPABILITY_SCHEMAS: Record<ModelType, TSchema> = {
  video: Type.Object(
    {
      ...COMMON, ...PROMPT,
      durations: Type.Object({ min: Int(1, 3600), max: Int(1, 3600), default: Int(1, 3600) }, Strict),
      resolutions: Names, default_resolution: Name, ratios: Names, default_ratio: Name,
      generate_audio: Opt(Type.Boolean()),
      max_reference_images: Opt(Int(0, 100)), max_reference_videos: Opt(Int(0, 100)), max_reference_audios: Opt(Int(0, 100)),
      max_reference_video_seconds: Opt(Int(0, 3600)), max_reference_audio_seconds: Opt(Int(0, 3600)),
      reference_strength: Opt(Type.Boolean()),
    },
    Strict,
  ),
  image: Type.Object(
    {
      ...COMMON, ...PROMPT,
      sizes: Names, default_size: Name, qualities: Names, default_quality: Name, max_images: Int(1, 16),
      max_reference_images: Opt(Int(0, 100)), reference_strength: Opt(Type.Boolean()),
    },
    Strict,
  ),
  music: Type.Object(
    { ...COMMON, ...PROMPT, max_track_seconds: Opt(Int(1, 3600)), tracks_per_generation: Opt(Int(1, 16)), instrumental: Opt(Type.Boolean()) },
    Strict,
  ),
  chat: Type.Object({ ...COMMON, context_window: Int(1, 100_000_000), max_output_tokens: Int(1, 10_000_000) }, Strict),
  embedding: Type.Object({ ...COMMON, context_window: Opt(Int(1, 100_000_000)), dimensions: Opt(Int(1, 100_000)) }, Strict),
};

/** The price unit each type is charged by (M1). */
export const PRICE_UNIT: Record<ModelType, PriceRule['unit']> = { video: 'second', image: 'image', music: 'track', chat: 'token', embedding: 'token' };

function invalid(message: string, param: string): AppError {
  return new AppError('invalid_request', message, { param });
}

function dotted(path: string): string {
  return path.replace(/^\//, '').replace(/\//g, '.');
}

function requireOneOf(value: string, allowed: string[], param: string, what: string): void {
  if (!allowed.includes(value)) throw invalid(`${param} must be one of the ${what}: ${allowed.join(', ')}`, param);
}

export function validateCapabilities(type: ModelType, capabilities: Capabilities): void {
  const schema = CAPABILITY_SCHEMAS[type];
  const error = Value.Errors(schema, capabilities).First();
  if (error) {
    const path = dotted(error.path);
    const param = path ? `capabilities.${path}` : 'capabilities';
    throw invalid(`Invalid capabilities for a ${type} model: ${param}: ${error.message}`, param);
  }
  if (type === 'video') {
    const { min, max, default: fallback } = capabilities.durations!;
    if (min > max || fallback < min || fallback > max) {
      throw invalid('capabilities.durations must have min ≤ default ≤ max', 'capabilities.durations');
    }
    requireOneOf(capabilities.default_resolution!, capabilities.resolutions!, 'capabilities.default_resolution', 'resolutions');
    requireOneOf(capabilities.default_ratio!, capabilities.ratios!, 'capabilities.default_ratio', 'ratios');
  }
  if (type === 'image') {
    requireOneOf(capabilities.default_size!, capabilities.sizes!, 'capabilities.default_size', 'sizes');
    requireOneOf(capabilities.default_quality!, capabilities.qualities!, 'capabilities.default_quality', 'qualities');
  }
}

/** The variant names a price may be refined by (`credits_by` keys). */
function variants(type: ModelType, capabilities: Capabilities): string[] {
  if (type === 'video') return capabilities.resolutions ?? [];
  if (type === 'image') return [...(capabilities.qualities ?? []), ...(capabilities.sizes ?? [])];
  return [];
}

/** Shape checks of a new price rule against the model (the schema already made every price a non-negative integer). */
export function validatePricing(type: ModelType, capabilities: Capabilities, pricing: PriceRule): void {
  if (pricing.unit !== PRICE_UNIT[type]) throw invalid(`A ${type} model is priced per ${PRICE_UNIT[type]}`, 'pricing.unit');
  const tokens = pricing.unit === 'token';
  for (const field of ['credits', 'credits_by'] as const) {
    if (tokens && pricing[field] !== undefined) throw invalid(`Token prices use input/output_credits_per_million, not ${field}`, `pricing.${field}`);
  }
  for (const field of ['input_credits_per_million', 'output_credits_per_million'] as const) {
    if (!tokens && pricing[field] !== undefined) throw invalid(`${field} applies to token-priced models only`, `pricing.${field}`);
  }
  if (type === 'embedding' && pricing.output_credits_per_million !== undefined) {
    throw invalid('Embeddings have no output tokens', 'pricing.output_credits_per_million');
  }
  if (pricing.credits_by) {
    if (type === 'music') throw invalid('Music is priced per track with one flat price', 'pricing.credits_by');
    const allowed = variants(type, capabilities);
    for (const key of Object.keys(pricing.credits_by)) {
      if (!allowed.includes(key)) throw invalid(`"${key}" is not a variant of this model (${allowed.join(', ')})`, `pricing.credits_by.${key}`);
    }
  }
}

/**
 * A model may be enabled only when every variant its capabilities allow has a price (M9): each video resolution, each
 * image quality × size, the track, and the token prices. Returns the first unpriced variant, or null.
 */
export function missingPrice(type: ModelType, capabilities: Capabilities, pricing: PriceRule | null): string | null {
  if (!pricing) return 'the model has no price';
  if (pricing.unit !== PRICE_UNIT[type]) return `the price is per ${pricing.unit}, not per ${PRICE_UNIT[type]}`;
  const has = (...keys: string[]) => keys.some((key) => pricing.credits_by?.[key] !== undefined) || pricing.credits !== undefined;
  switch (type) {
    case 'video':
      for (const resolution of capabilities.resolutions ?? []) if (!has(resolution)) return `resolution ${resolution}`;
      return capabilities.resolutions?.length ? null : 'no resolution';
    case 'image':
      for (const quality of capabilities.qualities ?? []) {
        for (const size of capabilities.sizes ?? []) if (!has(quality, size)) return `quality ${quality}, size ${size}`;
      }
      return null;
    case 'music':
      return pricing.credits === undefined ? 'the track' : null;
    case 'chat':
      if (pricing.input_credits_per_million === undefined) return 'input tokens';
      return pricing.output_credits_per_million === undefined ? 'output tokens' : null;
    case 'embedding':
      return pricing.input_credits_per_million === undefined ? 'input tokens' : null;
  }
}

export function priceIncomplete(modelId: string, missing: string, when: string): AppError {
  return new AppError('price_incomplete', `${modelId} cannot be enabled: no price for ${missing} ${when}`, { param: 'pricing' });
}

export function validateListPrice(type: ModelType, listPrice: ListPrice | null): void {
  if (!listPrice) return;
  const expected = type === 'chat' || type === 'embedding' ? 'million_tokens' : PRICE_UNIT[type];
  if (listPrice.unit !== expected) throw invalid(`A ${type} model's list price is per ${expected}`, 'list_price.unit');
}
