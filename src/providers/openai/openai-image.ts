import { upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { mediaDimensions, sniffContentType } from '../shared/media-sniff.js';
import { submitCreate } from '../shared/start.js';
import type { GenerationRequest, JsonValue, ProviderContext, ProviderOutput, StartResult, StatusResult } from '../spec.js';
import type { OpenAIImagesResponse, OpenAIUsageFacts } from './openai-api-types.js';
import { classifyError, createError } from './openai-errors.js';
import { ResultCache } from './openai-result-cache.js';
import { baseHeaders, endpoint, type OpenAISettings } from './openai-settings.js';

/**
 * gpt-image (and dall-e) images, synchronous (PROVIDERS §4.4): the create answers with the result, so `start`
 * returns `completed`. gpt-image always answers base64 and rejects `response_format` (quirk 14), so it is omitted;
 * dall-e defaults to 60-minute URLs, so it is asked for base64 explicitly. Reference images switch to the
 * multipart `/images/edits` endpoint (quirk 24).
 *
 * The operation stays small (no base64): it holds the final status without outputs. The bytes are kept in a
 * bounded in-process cache so a repeated `status()` returns the same answer; after a restart they are gone (the
 * upstream has no GET for images), and `status()` reports success without outputs, which the engine resolves as
 * `result_unavailable` without charging.
 */
export interface ImageOperation {
  kind: 'image';
  taskId: string;
  requestId: string;
  final: { status: 'succeeded' | 'failed'; usage: OpenAIUsageFacts; error?: { class: 'moderation_output'; message: string } };
}

const ASPECTS: Record<string, number> = { '1:1': 1, '16:9': 16 / 9, '4:3': 4 / 3, '3:2': 3 / 2, '21:9': 21 / 9, '9:16': 9 / 16, '3:4': 3 / 4, '2:3': 2 / 3 };

/** Requested size when gpt-image accepts it; otherwise the accepted size closest in aspect (the echo is billed). */
export function imageSize(request: GenerationRequest, settings: OpenAISettings): string | undefined {
  if (request.size && settings.imageSizes.includes(request.size)) return request.size;
  const match = request.size ? /^(\d+)x(\d+)$/.exec(request.size) : null;
  const aspect = match ? Number(match[1]) / Number(match[2]) : request.ratio ? ASPECTS[request.ratio] : undefined;
  if (aspect === undefined || !Number.isFinite(aspect)) return undefined;
  let best: string | undefined;
  let distance = Infinity;
  for (const size of settings.imageSizes) {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const gap = Math.abs(Math.log(width / height) - Math.log(aspect));
    if (gap < distance) [best, distance] = [size, gap];
  }
  return best;
}

function requestFields(request: GenerationRequest, context: ProviderContext, settings: OpenAISettings): Record<string, string | number> {
  const size = imageSize(request, settings);
  return {
    model: context.upstreamModel,
    prompt: request.prompt,
    n: request.n ?? 1,
    ...(size ? { size } : {}),
    ...(request.quality ? { quality: request.quality } : {}),
    ...(/^dall-e/.test(context.upstreamModel) ? { response_format: 'b64_json' } : {}),
  };
}

/** JSON for generations; multipart with `image` / `image[]` (+ optional `mask`) for edits. */
async function encode(request: GenerationRequest, fields: Record<string, string | number>): Promise<{ path: string; body: string | Buffer; contentType: string }> {
  const images = request.references.filter((reference) => reference.type === 'image' && reference.role !== 'mask');
  if (images.length === 0) return { path: '/images/generations', body: JSON.stringify(fields), contentType: 'application/json' };
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, String(value));
  const field = images.length === 1 ? 'image' : 'image[]';
  images.forEach((image, index) => form.append(field, new Blob([image.bytes], { type: image.contentType }), `image-${index}.${extension(image.contentType)}`));
  const mask = request.references.find((reference) => reference.type === 'image' && reference.role === 'mask');
  if (mask) form.append('mask', new Blob([mask.bytes], { type: mask.contentType }), 'mask.png');
  // Response serialises FormData into multipart bytes plus its boundary header, without any network call.
  const serialised = new Response(form);
  return { path: '/images/edits', body: Buffer.from(await serialised.arrayBuffer()), contentType: serialised.headers.get('content-type') ?? '' };
}

export function extension(contentType: string): string {
  return contentType.includes('jpeg') ? 'jpg' : contentType.includes('webp') ? 'webp' : 'png';
}

/** Magic bytes beat the echoed `output_format`: the bytes are what the engine stores. */
function sniff(bytes: Buffer, fallback: string | undefined): string {
  const sniffed = sniffContentType(bytes);
  if (sniffed?.startsWith('image/')) return sniffed;
  return fallback === 'jpeg' ? 'image/jpeg' : fallback === 'webp' ? 'image/webp' : 'image/png';
}

function outputsOf(body: OpenAIImagesResponse): ProviderOutput[] {
  const outputs: ProviderOutput[] = [];
  for (const item of body.data ?? []) {
    if (typeof item.b64_json === 'string' && item.b64_json !== '') {
      // Some relays prefix a data: URI; strip it defensively (quirk 23 is xAI's, but cheap to survive here).
      const bytes = Buffer.from(item.b64_json.replace(/^data:[^,]*,/, ''), 'base64');
      if (bytes.length > 0) outputs.push({ contentType: sniff(bytes, body.output_format), bytes, ...(mediaDimensions(bytes) ?? {}) });
    } else if (typeof item.url === 'string' && item.url !== '') {
      outputs.push({ contentType: 'image/png', url: item.url });
    }
  }
  return outputs;
}

function usageOf(body: OpenAIImagesResponse, outputs: number, fallbackSize: string | undefined, billable: boolean): OpenAIUsageFacts {
  const usage = body.usage;
  const size = body.size ?? fallbackSize;
  return {
    image_count: outputs,
    ...(size ? { image_size: size } : {}),
    ...(body.quality ? { image_quality: body.quality } : {}),
    ...(usage?.input_tokens_details?.text_tokens !== undefined ? { tokens_in_text: usage.input_tokens_details.text_tokens } : {}),
    ...(usage?.input_tokens_details?.image_tokens !== undefined ? { tokens_in_image: usage.input_tokens_details.image_tokens } : {}),
    ...(usage?.output_tokens !== undefined ? { tokens_out: usage.output_tokens } : {}),
    billable,
  };
}

function requestIdOf(headers: Record<string, string | string[] | undefined>, taskId: string): string {
  const value = headers['x-request-id'];
  const id = Array.isArray(value) ? value[0] : value;
  return id && /^[\w-]{1,100}$/.test(id) ? id : `image_${taskId}`;
}

export async function startImage(request: GenerationRequest, context: ProviderContext, settings: OpenAISettings, cache: ResultCache): Promise<StartResult> {
  const fields = requestFields(request, context, settings);
  const encoded = await encode(request, fields);
  const answer = await submitCreate({
    label: 'openai image create',
    send: () =>
      upstreamRequest({
        method: 'POST',
        url: endpoint(context, encoded.path),
        headers: { ...baseHeaders(context, settings), 'content-type': encoded.contentType, 'idempotency-key': request.taskId },
        body: encoded.body,
        timeoutMs: settings.imageTimeoutMs,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    // Output moderation happens after the upstream generated the image: a 400 that says so is an accepted create
    // that then failed, so it is not read as an error here.
    readError: (response) => (blockedOutput(response, context) ? null : createError(response, context)),
    accept: (response) => {
      const blocked = blockedOutput(response, context);
      if (blocked) return { kind: 'blocked' as const, message: blocked };
      const body = response.json as OpenAIImagesResponse | undefined;
      const outputs = body && typeof body === 'object' ? outputsOf(body) : [];
      return body && outputs.length > 0 ? { kind: 'images' as const, body, outputs } : null;
    },
  });
  if (!answer.ok) return answer.failure;
  const requestId = requestIdOf(answer.response.headers, request.taskId);
  const accepted = answer.value;
  if (accepted.kind === 'blocked') {
    const operation: ImageOperation = {
      kind: 'image', taskId: request.taskId, requestId,
      final: { status: 'failed', usage: { billable: false }, error: { class: 'moderation_output', message: accepted.message } },
    };
    return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: requestId, completed: finalOf(operation) };
  }
  const { body, outputs } = accepted;
  const usage = usageOf(body, outputs.length, typeof fields.size === 'string' ? fields.size : undefined, true);
  const operation: ImageOperation = { kind: 'image', taskId: request.taskId, requestId, final: { status: 'succeeded', usage } };
  const completed: StatusResult = { status: 'succeeded', progress: 100, outputs, usage };
  cache.put(request.taskId, completed);
  return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: requestId, completed };
}

/** The (sanitized) message of a 400 that reports output moderation, which the operation then stores; else null. */
function blockedOutput(response: UpstreamResponse, context: ProviderContext): string | null {
  if (response.status !== 400) return null;
  const error = classifyError(response, context);
  return error.class === 'moderation_output' ? error.message : null;
}

function finalOf(operation: ImageOperation): StatusResult {
  const { final } = operation;
  if (final.status === 'failed') return { status: 'failed', usage: { billable: false }, ...(final.error ? { error: final.error } : {}) };
  return { status: 'succeeded', progress: 100, outputs: [], usage: { ...final.usage, billable: false } };
}

/** The same final answer `start` gave: from the cache while the bytes are held, else from the operation. */
export function imageStatus(operation: ImageOperation, cache: ResultCache): StatusResult {
  return cache.get(operation.taskId) ?? finalOf(operation);
}
