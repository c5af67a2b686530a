/** Public models and their limits (API.md §3 Model, §4 video limits) and price rules (SEMANTICS M1). */
export type ModelType = 'video' | 'image' | 'music' | 'chat' | 'embedding';

export interface VideoCapabilities {
  durations: { min: number; max: number; default: number };
  resolutions: string[];
  default_resolution: string;
  ratios: string[];
  default_ratio: string;
  generate_audio: boolean;
  max_reference_images: number;
  max_reference_videos: number;
  max_reference_audios: number;
  max_reference_video_seconds: number;
  max_reference_audio_seconds: number;
  reference_strength: boolean;
}

export interface ImageCapabilities {
  sizes: string[];
  default_size: string;
  qualities: string[];
  default_quality: string;
  max_images: number;
  max_reference_images: number;
  reference_strength: boolean;
}

export interface MusicCapabilities {
  max_prompt_length: number;
  max_track_seconds: number;
  tracks_per_generation: number;
  instrumental: boolean;
}

export interface TextCapabilities {
  context_window: number;
  max_output_tokens: number;
  /** Embedding vector size. */
  dimensions: number;
}

/** Operational limits any model may carry. */
export interface QueueCapabilities {
  /** Most tasks of this model waiting for a worker before new ones get 429 `queue_full` (SEMANTICS R6). */
  max_queued: number;
}

export type Capabilities = Partial<QueueCapabilities> & Partial<VideoCapabilities> & Partial<ImageCapabilities> & Partial<MusicCapabilities> & Partial<TextCapabilities>;

/**
 * Integer credits per unit. `credits` is the flat rate; `credits_by` refines it by resolution (video), quality or
 * size (image). Token prices are per million tokens.
 */
export interface PriceRule {
  unit: 'second' | 'image' | 'track' | 'token';
  credits?: number;
  credits_by?: Record<string, number>;
  input_credits_per_million?: number;
  output_credits_per_million?: number;
}

/**
 * The upstream's official price, informational (the public price list shows "N % below list" from it): `amount` per
 * `unit` in `currency`, and `amount_by` per variant where the official prices differ (resolution, quality, size; for
 * token models `input` and `output` per million tokens).
 */
export interface ListPrice {
  amount: number;
  currency: string;
  unit: 'second' | 'image' | 'track' | 'million_tokens';
  amount_by?: Record<string, number>;
}

export const LIST_PRICE_UNITS: ReadonlyArray<ListPrice['unit']> = ['second', 'image', 'track', 'million_tokens'];

/**
 * A catalogue model as the hot path sees it: `pricing` is the price version in force when it was read
 * (`price_version`; SEMANTICS M9). Models without a price in force are never served.
 */
export interface CatalogModel {
  id: string;
  type: ModelType;
  category: string;
  display_name: string;
  description: string | null;
  capabilities: Capabilities;
  pricing: PriceRule;
  price_version: number;
  list_price: ListPrice | null;
  enabled: boolean;
  sort_order: number;
  created_at: Date;
}

/** One row of a model's price history (`model_prices`). */
export interface PriceVersion {
  model_id: string;
  version: number;
  pricing: PriceRule;
  effective_at: Date;
  created_at: Date;
}

/** A customer group (`customer_groups`): picks the customer's channels and its price percent (SEMANTICS M10). */
export interface CustomerGroup {
  id: string;
  name: string;
  price_percent: number;
  created_at: Date;
  updated_at: Date;
}
