import type { Capabilities, CatalogModel, ListPrice, ModelType, PriceRule } from './types.js';

/**
 * The demo catalog seeded on first start: named after real models so the price list and the faces look like a real
 * install; the operator edits prices and limits afterwards. Credits are integers (10,000 credits = 1 USD by default,
 * CREDITS_PER_CURRENCY_UNIT), and the demo prices the way a reseller does: 30 % below the official list price where
 * one is published, so `/models` shows "30 % below list" on those models.
 *
 * `list_price` is the upstream's published list price (USD) where it is public and known with confidence: OpenAI Sora 2
 * ($0.10 per second at 720p; demo 700 credits = $0.07), GPT-5 mini ($0.25 / $2.00 per million input / output tokens;
 * demo 1,750 / 14,000), text-embedding-3-small ($0.02 per million tokens; demo 140), xAI Grok 4 Fast ($0.20 / $0.50
 * per million tokens for prompts under 128k tokens; demo 1,400 / 3,500) and BytePlus ModelArk Seedream 4.5 ($0.04 per
 * image at any size; demo 280 = $0.028). The others are left null rather than guessed: Seedance is billed by tokens
 * and region on ModelArk, GPT Image 2 by image and text tokens (no fixed per-image price), the Grok Imagine and
 * HappyHorse per-unit prices are not published with confidence, and Suno has no public API price. The operator sets
 * them with PATCH /api/admin/models/:id.
 */
type Seed = Omit<CatalogModel, 'created_at' | 'enabled' | 'sort_order' | 'price_version' | 'description'> & { description?: string };

const usd = (amount: number, unit: ListPrice['unit'], amountBy?: Record<string, number>): ListPrice => ({
  amount,
  currency: 'USD',
  unit,
  ...(amountBy ? { amount_by: amountBy } : {}),
});

const RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive'];

function video(durations: [number, number, number], resolutions: string[], audio: boolean, extra: Capabilities = {}): Capabilities {
  return {
    durations: { min: durations[0], max: durations[1], default: durations[2] },
    resolutions,
    default_resolution: resolutions.includes('720p') ? '720p' : resolutions[0]!,
    ratios: RATIOS,
    default_ratio: '16:9',
    generate_audio: audio,
    max_reference_images: 9,
    max_reference_videos: 3,
    max_reference_audios: 3,
    max_reference_video_seconds: 15,
    max_reference_audio_seconds: 15,
    reference_strength: false,
    ...extra,
  };
}

function image(sizes: string[], qualities: string[], extra: Capabilities = {}): Capabilities {
  return {
    sizes,
    default_size: sizes[0]!,
    qualities,
    default_quality: qualities.includes('medium') ? 'medium' : qualities[0]!,
    max_images: 4,
    max_reference_images: 9,
    reference_strength: false,
    ...extra,
  };
}

const perSecond = (creditsBy: Record<string, number>): PriceRule => ({ unit: 'second', credits_by: creditsBy });
const perImage = (credits: number, creditsBy?: Record<string, number>): PriceRule => ({
  unit: 'image',
  credits,
  ...(creditsBy ? { credits_by: creditsBy } : {}),
});

const IMAGE_SIZES = ['1024x1024', '1536x1024', '1024x1536', '1280x720', '720x1280'];

export const DEFAULT_CATALOG: Seed[] = [
  { id: 'seedance-2.0', type: 'video', category: 'text-to-video', display_name: 'Seedance 2.0', capabilities: video([4, 15, 5], ['480p', '720p', '1080p'], true), pricing: perSecond({ '480p': 900, '720p': 1800, '1080p': 4000 }), list_price: null },
  { id: 'seedance-2.0-fast', type: 'video', category: 'text-to-video', display_name: 'Seedance 2.0 Fast', capabilities: video([4, 15, 5], ['480p', '720p'], true), pricing: perSecond({ '480p': 600, '720p': 1200 }), list_price: null },
  { id: 'seedance-1.5-pro', type: 'video', category: 'text-to-video', display_name: 'Seedance 1.5 Pro', capabilities: video([4, 12, 5], ['480p', '720p', '1080p'], true), pricing: perSecond({ '480p': 500, '720p': 1000, '1080p': 2200 }), list_price: null },
  { id: 'happyhorse-1.0', type: 'video', category: 'text-to-video', display_name: 'HappyHorse 1.0', capabilities: video([3, 15, 5], ['720p', '1080p'], true), pricing: perSecond({ '720p': 1400, '1080p': 2400 }), list_price: null },
  { id: 'grok-imagine-video', type: 'video', category: 'text-to-video', display_name: 'Grok Imagine Video', capabilities: video([1, 15, 6], ['480p', '720p'], true, { max_reference_videos: 1, max_reference_audios: 0 }), pricing: perSecond({ '480p': 500, '720p': 700 }), list_price: null },
  { id: 'sora-2', type: 'video', category: 'text-to-video', display_name: 'Sora 2', capabilities: video([4, 12, 4], ['720p'], true, { max_reference_images: 1, max_reference_videos: 0, max_reference_audios: 0 }), pricing: perSecond({ '720p': 700 }), list_price: usd(0.1, 'second') },
  { id: 'gpt-image-2', type: 'image', category: 'text-to-image', display_name: 'GPT Image 2', capabilities: image(IMAGE_SIZES, ['low', 'medium', 'high']), pricing: perImage(500, { low: 150, medium: 500, high: 2000 }), list_price: null },
  { id: 'grok-imagine-image', type: 'image', category: 'text-to-image', display_name: 'Grok Imagine Image', capabilities: image(IMAGE_SIZES, ['standard']), pricing: perImage(300), list_price: null },
  { id: 'seedream-4.5', type: 'image', category: 'text-to-image', display_name: 'Seedream 4.5', capabilities: image(['2048x2048', '2560x1440', '1440x2560', ...IMAGE_SIZES], ['standard'], { max_reference_images: 14, reference_strength: true }), pricing: perImage(280), list_price: usd(0.04, 'image') },
  { id: 'grok-4-fast', type: 'chat', category: 'chat', display_name: 'Grok 4 Fast', capabilities: { context_window: 2_000_000, max_output_tokens: 30_000 }, pricing: { unit: 'token', input_credits_per_million: 1_400, output_credits_per_million: 3_500 }, list_price: usd(0.2, 'million_tokens', { input: 0.2, output: 0.5 }) },
  { id: 'gpt-5-mini', type: 'chat', category: 'chat', display_name: 'GPT-5 mini', capabilities: { context_window: 400_000, max_output_tokens: 128_000 }, pricing: { unit: 'token', input_credits_per_million: 1_750, output_credits_per_million: 14_000 }, list_price: usd(0.25, 'million_tokens', { input: 0.25, output: 2 }) },
  { id: 'text-embedding-3-small', type: 'embedding', category: 'embedding', display_name: 'Text Embedding 3 Small', capabilities: { context_window: 8_192, dimensions: 1536 }, pricing: { unit: 'token', input_credits_per_million: 140 }, list_price: usd(0.02, 'million_tokens', { input: 0.02 }) },
  { id: 'suno-v5', type: 'music', category: 'text-to-music', display_name: 'Suno v5', capabilities: { max_prompt_length: 5000, max_track_seconds: 240, tracks_per_generation: 2, instrumental: true }, pricing: { unit: 'track', credits: 1500 }, list_price: null },
];

/**
 * The model a request gets when it names none, per type (the jobs face's images and videos, the native music face):
 * catalogue data, read through CatalogService.defaultModel. A catalogue without the named model enabled falls back
 * to its first enabled model of the type by sort order.
 */
export const DEFAULT_MODEL_FOR: Readonly<Partial<Record<ModelType, string>>> = {
  video: 'seedance-2.0-fast',
  image: 'gpt-image-2',
  music: 'suno-v5',
};
