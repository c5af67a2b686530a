import type { GenerationRequest, ProviderContext, ProviderError, ProviderOutput, StartResult, StatusResult } from '../spec.js';
import { sniffContentType } from '../shared/media-sniff.js';
import type { XaiImageItem, XaiImageRequestBody, XaiImageResponse } from './xai-api-types.js';
import { IMAGE_RESOLUTIONS } from './xai-api-types.js';
import { isTarget, postJson, referenceUrl, targetOf } from './xai-client.js';
import { submitCreate } from '../shared/start.js';
import { createError } from './xai-errors.js';
import { fromFinal, toJson, type FinalRecord, type XaiImageOperation } from './xai-operation.js';
import type { XaiSettings } from './xai-settings.js';

/**
 * Grok Imagine images (PROVIDERS §3.1): one synchronous call whose answer already holds the result, so `start`
 * returns `completed`. xAI silently replaces invalid `aspect_ratio`/`resolution`/`response_format` values with
 * defaults and still answers 200 (quirk 12), and answers `resolution:"4k"` with a 503 (quirk 13): everything is
 * validated here first and sent explicitly, so the facts billed are the parameters xAI really used. Reference
 * images are silently ignored by `/generations` (†), so requests with references go to `/images/edits` (JSON).
 */
interface ImagePlan {
  path: '/images/generations' | '/images/edits';
  body: XaiImageRequestBody;
  resolution: string;
}

function invalid(message: string): ProviderError {
  return { class: 'invalid_request', message: `xai image: ${message}` };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** An OpenAI-style `WxH` size expressed as an xAI aspect ratio, when it reduces to one xAI knows. */
function ratioOfSize(size: string | undefined, ratios: string[]): string | undefined {
  const match = size ? /^(\d{1,5})x(\d{1,5})$/.exec(size) : null;
  if (!match) return undefined;
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width === 0 || height === 0) return undefined;
  const divisor = gcd(width, height);
  const ratio = `${width / divisor}:${height / divisor}`;
  return ratios.includes(ratio) ? ratio : undefined;
}

export function planImage(request: GenerationRequest, context: ProviderContext, settings: XaiSettings): ImagePlan | ProviderError {
  if (!request.prompt.trim()) return invalid('prompt is empty');
  const n = request.n ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > settings.maxImages) return invalid(`n must be an integer 1–${settings.maxImages}`);
  const resolution = (request.resolution ?? settings.defaultImageResolution).toLowerCase();
  // 4k is answered with a 503, which would look like an unknown outcome: refuse it before sending (quirk 13).
  if (resolution === '4k') return invalid('resolution 4k is not offered (xAI answers 503)');
  if (!IMAGE_RESOLUTIONS.includes(resolution)) return invalid(`resolution must be one of ${IMAGE_RESOLUTIONS.join(', ')}`);
  let aspectRatio: string | undefined;
  if (request.ratio !== undefined) {
    if (!settings.imageAspectRatios.includes(request.ratio)) return invalid(`aspect ratio ${request.ratio} is not supported`);
    aspectRatio = request.ratio;
  } else {
    // `size` is not an xAI parameter; honour it only when it maps exactly onto a ratio xAI offers.
    aspectRatio = ratioOfSize(request.size, settings.imageAspectRatios);
  }
  const body: XaiImageRequestBody = {
    model: context.upstreamModel,
    prompt: request.prompt,
    n,
    response_format: settings.imageResponseFormat,
    resolution,
    ...(aspectRatio ? { aspect_ratio: aspectRatio } : {}),
  };
  if (request.references.length === 0) return { path: '/images/generations', body, resolution };
  if (request.references.some((reference) => reference.type !== 'image')) return invalid('only image references are supported');
  if (request.references.length > settings.maxEditImages) return invalid(`at most ${settings.maxEditImages} source images`);
  const sources = request.references.map((reference) => ({ url: referenceUrl(reference) }));
  return { path: '/images/edits', body: { ...body, ...(sources.length === 1 ? { image: sources[0]! } : { images: sources }) }, resolution };
}

/** `b64_json`, with the `data:` URI prefix xAI sometimes adds stripped (quirk 23). */
function decodeBase64(value: string, mime: unknown): { bytes: Buffer; contentType: string } {
  const prefixed = /^data:([^;,]+)?(?:;[^,]*)?,/.exec(value);
  const bytes = Buffer.from(prefixed ? value.slice(prefixed[0].length) : value, 'base64');
  const contentType = sniffContentType(bytes) ?? prefixed?.[1] ?? (typeof mime === 'string' ? mime : 'image/jpeg');
  return { bytes, contentType };
}

interface ParsedImages {
  result: StatusResult;
  final: FinalRecord;
}

/** Turns a 200 body into the final answer, or null when it holds no usable item (an unknown outcome). */
export function parseImages(json: unknown, resolution: string): ParsedImages | null {
  const data = (json as XaiImageResponse | undefined)?.data;
  if (!Array.isArray(data)) return null;
  const outputs: ProviderOutput[] = [];
  let blocked = 0;
  let inline = false;
  for (const raw of data as XaiImageItem[]) {
    if (!raw || typeof raw !== 'object') continue;
    // A blocked item is never delivered, even when it carries a URL (as `done` + respect_moderation:false for video).
    if (raw.respect_moderation === false) {
      blocked += 1;
    } else if (typeof raw.url === 'string' && raw.url) {
      // xAI serves JPEG unless it says otherwise; the engine re-checks the bytes it downloads anyway.
      outputs.push({ url: raw.url, contentType: typeof raw.mime_type === 'string' ? raw.mime_type : 'image/jpeg' });
    } else if (typeof raw.b64_json === 'string' && raw.b64_json) {
      outputs.push(decodeBase64(raw.b64_json, raw.mime_type));
      inline = true;
    }
  }
  if (outputs.length === 0 && blocked === 0) return null;
  if (outputs.length === 0) {
    const final: FinalRecord = {
      status: 'failed',
      usage: { billable: false },
      error: { class: 'moderation_output', message: `xai image: all ${blocked} image(s) blocked by output moderation` },
    };
    return { result: fromFinal(final), final };
  }
  // Only delivered images are billed (partial moderation, like quirk 7). xAI has no pixel size: its size tier is
  // the resolution (`1k`/`2k`), reported as `image_size` so price rules can key on it.
  const usage = { image_count: outputs.length, image_size: resolution, billable: true };
  const result: StatusResult = { status: 'succeeded', progress: 100, outputs, usage };
  const final: FinalRecord = inline
    ? {
        // Base64 bytes are not kept in the operation; a later status() cannot deliver them again and says so.
        status: 'failed',
        usage: { billable: false },
        error: { class: 'upstream_error', message: 'xai image: the result arrived inline at start and is not kept in the operation' },
      }
    : { status: 'succeeded', outputs: outputs.map((output) => ({ url: output.url!, contentType: output.contentType })), usage };
  return { result, final };
}

export async function startImage(request: GenerationRequest, context: ProviderContext, settings: XaiSettings): Promise<StartResult> {
  const target = targetOf(context, settings.imageTimeoutMs);
  if (!isTarget(target)) return { outcome: 'rejected', error: target };
  const plan = planImage(request, context, settings);
  if (!('path' in plan)) return { outcome: 'rejected', error: plan };
  const answer = await submitCreate({
    label: 'xai image create',
    send: () => postJson(target, plan.path, plan.body, request.taskId),
    readError: (response) => createError(response, 'image create'),
    accept: (response) => parseImages(response.json, plan.resolution),
  });
  if (!answer.ok) return answer.failure;
  const parsed = answer.value;
  const operation: XaiImageOperation = { v: 1, kind: 'image', taskId: request.taskId, final: parsed.final };
  return { outcome: 'accepted', operation: toJson(operation), providerTaskId: `xai-image-${request.taskId}`, completed: parsed.result };
}
