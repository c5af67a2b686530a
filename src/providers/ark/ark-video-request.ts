import { mediaDurationSeconds } from '../shared/media-sniff.js';
import type { GenerationRequest, ProviderContext, ProviderError, ReferenceInput } from '../spec.js';
import type { ArkSettings } from './ark-settings.js';

/**
 * Canonical request → Seedance create body (PROVIDERS §2.1). Body fields only, never trailing `--rs`-style prompt
 * flags (their precedence is undocumented). The mixing rules Ark answers with a 400 `InvalidParameter` — its most
 * common user error — are checked here first (quirk 18), so a bad combination never costs an upstream call.
 */
type ContentItem =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string }; role?: string }
  | { type: 'video_url'; video_url: { url: string }; role: 'reference_video' }
  | { type: 'audio_url'; audio_url: { url: string }; role: 'reference_audio' };

export interface VideoCreate {
  body: Record<string, unknown>;
  /** Seconds of reference video, kept on the operation for the `input_video_seconds` fact (§12). */
  inputVideoSeconds: number;
}

const FRAME_ROLES = new Set(['first_frame', 'last_frame']);

function invalid(message: string): { error: ProviderError } {
  return { error: { class: 'invalid_request', message: `ark video request: ${message}` } };
}

function dataUri(reference: ReferenceInput): string {
  return `data:${reference.contentType};base64,${reference.bytes.toString('base64')}`;
}

/** Checks the exclusive modes: first frame / first+last frame / multimodal reference (§2.1). */
function checkModes(references: ReferenceInput[]): string | null {
  const images = references.filter((reference) => reference.type === 'image');
  const frames = images.filter((reference) => FRAME_ROLES.has(reference.role));
  const others = references.filter((reference) => !FRAME_ROLES.has(reference.role));
  if (frames.length > 0 && others.length > 0) return 'first/last frame images cannot be mixed with reference media';
  const firsts = frames.filter((reference) => reference.role === 'first_frame').length;
  const lasts = frames.filter((reference) => reference.role === 'last_frame').length;
  if (firsts > 1 || lasts > 1) return 'at most one first_frame and one last_frame image';
  if (lasts === 1 && firsts === 0) return 'a last_frame image needs a first_frame image';
  const audio = references.some((reference) => reference.type === 'audio');
  const visual = references.some((reference) => reference.type === 'image' || reference.type === 'video');
  if (audio && !visual) return 'reference audio needs a reference image or video';
  return null;
}

function contentItem(reference: ReferenceInput): ContentItem | string {
  if (reference.type === 'image') {
    const role = reference.role || 'reference_image';
    return { type: 'image_url', image_url: { url: reference.url ?? dataUri(reference) }, role };
  }
  if (reference.type === 'video') {
    // Ark refuses base64 video: without a shareable URL there is nothing valid to send.
    if (!reference.url) return 'reference video needs a URL (Ark accepts no inline video)';
    return { type: 'video_url', video_url: { url: reference.url }, role: 'reference_video' };
  }
  return { type: 'audio_url', audio_url: { url: reference.url ?? dataUri(reference) }, role: 'reference_audio' };
}

export function buildVideoCreate(
  request: GenerationRequest,
  context: ProviderContext,
  settings: ArkSettings,
): VideoCreate | { error: ProviderError } {
  const references = request.references ?? [];
  const modeError = checkModes(references);
  if (modeError) return invalid(modeError);
  const content: ContentItem[] = [];
  if (request.prompt) content.push({ type: 'text', text: request.prompt });
  let inputVideoSeconds = 0;
  for (const reference of references) {
    const item = contentItem(reference);
    if (typeof item === 'string') return invalid(item);
    content.push(item);
    if (reference.type === 'video') inputVideoSeconds += mediaDurationSeconds(reference.bytes) ?? 0;
  }
  if (content.length === 0) return invalid('neither a prompt nor reference media');

  const body: Record<string, unknown> = { model: context.upstreamModel, content };
  // Ark wants lowercase `720p`; the canonical value may arrive in any case (quirk 9).
  if (request.resolution) body.resolution = request.resolution.toLowerCase();
  if (request.ratio) body.ratio = request.ratio;
  if (request.seconds !== undefined) body.duration = Math.round(request.seconds);
  if (request.seed !== undefined) body.seed = request.seed;
  // Both always explicit (quirk 17): Ark's defaults differ per kind, and audio defaults to on (≈ double price).
  body.watermark = settings.watermark;
  body.generate_audio = request.generate_audio ?? false;
  if (settings.serviceTier) body.service_tier = settings.serviceTier;
  if (settings.executionExpiresAfter !== undefined) body.execution_expires_after = settings.executionExpiresAfter;
  if (context.callbackUrl) body.callback_url = context.callbackUrl;
  return { body, inputVideoSeconds: Math.round(inputVideoSeconds * 1000) / 1000 };
}
