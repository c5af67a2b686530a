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

export interface CatalogModel {
  id: string;
  type: ModelType;
  category: string;
  display_name: string;
  capabilities: Capabilities;
  pricing: PriceRule;
  list_price: { amount: number; currency: string; unit: string } | null;
  enabled: boolean;
  sort_order: number;
  created_at: Date;
}
