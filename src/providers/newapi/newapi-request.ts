import { videoDimensions } from '../../lib/video-size.js';
import type { GenerationRequest, ProviderContext, ProviderError, ReferenceInput } from '../spec.js';
import type { Json, NewapiSettings } from './newapi-api-types.js';

/**
 * Create bodies per dialect (PROVIDERS §8). Validation happens here, before anything is sent, because a reseller
 * relays to an upstream that may silently replace bad values (§10 #12) or bill a task it then rejects; a local
 * rejection costs nothing and is a clean `invalid_request`.
 */
export interface CreateCall {
  /** Path after the channel base URL (which already ends in `/v1`, §0.1). */
  path: string;
  body: Json;
  /** Requested facts kept on the operation for usage (§12: resellers return no reliable usage). */
  seconds?: number;
  resolution?: string;
}

const CONTENT_TYPE = { image: 'image_url', video: 'video_url', audio: 'audio_url' } as const;

function invalid(message: string): ProviderError {
  return { class: 'invalid_request', message: `newapi: ${message}` };
}

/**
 * A reference the reseller can fetch: the engine's shareable URL, else an inline data URL. Data URLs only for
 * images: Ark (behind most resellers) refuses base64 video (§10 #18) and nothing documents base64 audio.
 */
function mediaUrl(reference: ReferenceInput): string | ProviderError {
  if (reference.url) return reference.url;
  if (reference.type !== 'image') return invalid(`a ${reference.type} reference needs a shareable URL on this channel`);
  return `data:${reference.contentType};base64,${reference.bytes.toString('base64')}`;
}

function checkCounts(references: ReferenceInput[], settings: NewapiSettings): ProviderError | undefined {
  const count = (type: ReferenceInput['type']) => references.filter((reference) => reference.type === type).length;
  if (count('image') > settings.maxImages) return invalid(`at most ${settings.maxImages} reference images`);
  if (count('video') > settings.maxVideos) return invalid(`at most ${settings.maxVideos} reference videos`);
  if (count('audio') > settings.maxAudios) return invalid(`at most ${settings.maxAudios} reference audios`);
  return undefined;
}

/**
 * References as the reseller wants them. Plain reference images go in `images`, which every fork reads. Anything
 * with a role (first/last frame) or another media type goes in `metadata.content` with Ark's roles, and then the
 * images go there too: new-api lets `metadata.content` replace the `images` items, so splitting them would lose some.
 */
function encodeReferences(references: ReferenceInput[]): { images?: string[]; content?: Json[] } | ProviderError {
  const urls: string[] = [];
  for (const reference of references) {
    const url = mediaUrl(reference);
    if (typeof url !== 'string') return url;
    urls.push(url);
  }
  if (urls.length === 0) return {};
  const plain = references.every((reference) => reference.type === 'image' && (reference.role ?? 'reference_image') === 'reference_image');
  if (plain) return { images: urls };
  const content = references.map((reference, index) => {
    const type = CONTENT_TYPE[reference.type];
    return { type, [type]: { url: urls[index]! }, role: reference.role || `reference_${reference.type}` };
  });
  return { content };
}

export function buildCreate(request: GenerationRequest, context: ProviderContext, settings: NewapiSettings): CreateCall | ProviderError {
  if (request.kind !== 'video') return { class: 'unsupported', message: `newapi: ${request.kind} is not offered by this family` };
  const resolution = request.resolution?.toLowerCase();
  // §10 #9: resellers in front of Seedance want lowercase `1080p`; genrelay normalises to lowercase internally.
  if (resolution !== undefined && !settings.resolutions.includes(resolution)) return invalid(`resolution ${resolution} is not offered`);
  const seconds = request.seconds;
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds <= 0)) return invalid('seconds must be a positive whole number');
  const counted = checkCounts(request.references, settings);
  if (counted) return counted;
  const references = encodeReferences(request.references);
  if ('class' in references) return references;
  const facts = { ...(seconds !== undefined ? { seconds } : {}), ...(resolution !== undefined ? { resolution } : {}) };

  if (settings.dialect === 'apimart') {
    if (references.content) return invalid('the apimart dialect takes reference images only, without roles');
    const body: Json = {
      model: context.upstreamModel,
      prompt: request.prompt,
      ...(seconds !== undefined ? { duration: seconds } : {}),
      ...(resolution !== undefined ? { resolution } : {}),
      ...(request.ratio !== undefined ? { aspect_ratio: request.ratio } : {}),
      ...(references.images ? { image_urls: references.images } : {}),
    };
    return { path: '/videos/generations', body, ...facts };
  }

  // Options travel in `metadata`: the reseller copies it into the upstream body (it strips `metadata.model`).
  const metadata: Json = {
    ...(request.ratio !== undefined ? { ratio: request.ratio } : {}),
    ...(resolution !== undefined ? { resolution } : {}),
    generate_audio: request.generate_audio ?? settings.generateAudio,
    watermark: settings.watermark,
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
    ...(references.content ? { content: references.content } : {}),
  };
  const common: Json = {
    model: context.upstreamModel,
    prompt: request.prompt,
    // §10 #3: `seconds` is a string in new-api and in OpenAI video objects.
    ...(seconds !== undefined ? { seconds: String(seconds) } : {}),
    ...(references.images ? { images: references.images } : {}),
  };
  if (settings.dialect === 'openai-videos') {
    const size = request.ratio && resolution ? videoDimensions(request.ratio, resolution).join('x') : undefined;
    return { path: '/videos', body: { ...common, ...(size ? { size } : {}), metadata }, ...facts };
  }
  // §10 #30: new-api accepts `callback_url` only inside `metadata`; a top-level one is silently ignored.
  if (settings.callbacks && context.callbackUrl) metadata.callback_url = context.callbackUrl;
  return { path: '/video/generations', body: { ...common, metadata }, ...facts };
}
