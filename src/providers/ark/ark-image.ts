import type { GenerationRequest, JsonValue, ProviderContext, ProviderOutput, StartResult, StatusResult, UsageFacts } from '../spec.js';
import type { ArkImageItem, ArkImageOperation, ArkImageResponse } from './ark-api-types.js';
import { submitCreate } from '../shared/start.js';
import { classifyTaskFailure, createError, errorCodeOf } from './ark-errors.js';
import { arkRequest, fromStoredUrl, missingChannel, toStoredUrl } from './ark-http.js';
import type { ArkSettings } from './ark-settings.js';

/**
 * Seedream images: one synchronous `POST {base}/images/generations` per image (PROVIDERS §2.5). There is no `n`
 * (quirk 26), so n images are n calls, aggregated; a set may partially succeed with per-item errors (quirk 7),
 * and only items with a URL are billed. The whole answer is the operation, so `status()` can repeat it.
 */
const MAX_IMAGES = 15;
const MAX_REFERENCES = 14;

export interface ArkImageUsage extends UsageFacts {
  input_image_count?: number;
  upstream_tokens?: number;
}

function sizeField(request: GenerationRequest, settings: ArkSettings): string | undefined {
  const raw = request.size ?? request.resolution;
  if (!raw) return undefined;
  // Tiers are spelled per model (quirk 9): `2K` on 4.x, `2k` on 5.0 lite; `WxH` is the same everywhere.
  if (/^\d+k$/i.test(raw)) return settings.imageSizeCase === 'lower' ? raw.toLowerCase() : raw.toUpperCase();
  return raw.toLowerCase();
}

function buildBody(request: GenerationRequest, context: ProviderContext, settings: ArkSettings): Record<string, unknown> | string {
  const references = request.references ?? [];
  if (references.some((reference) => reference.type !== 'image')) return 'Seedream takes image references only';
  if (references.length > MAX_REFERENCES) return `at most ${MAX_REFERENCES} reference images`;
  // Always URLs: keeps the stored operation small and lets the engine copy results through its guard.
  const body: Record<string, unknown> = { model: context.upstreamModel, prompt: request.prompt, response_format: 'url', watermark: settings.watermark };
  const size = sizeField(request, settings);
  if (size) body.size = size;
  const images = references.map((reference) => reference.url ?? `data:${reference.contentType};base64,${reference.bytes.toString('base64')}`);
  if (images.length === 1) body.image = images[0];
  else if (images.length > 1) body.image = images;
  if (settings.imageOutputFormat) body.output_format = settings.imageOutputFormat;
  // Only Seedream 3 / SeedEdit take a seed; newer models reject unknown fields.
  if (request.seed !== undefined && /seedream-3|seededit/i.test(context.upstreamModel)) body.seed = request.seed;
  return body;
}

function collect(items: ArkImageItem[], baseUrl: string, operation: ArkImageOperation): void {
  for (const item of items) {
    if (item.url) operation.images.push({ url: toStoredUrl(item.url, baseUrl), ...(item.size ? { size: item.size } : {}) });
    else operation.failures.push(item.error?.code ?? (item.b64_json ? 'UnrequestedInlineImage' : 'EmptyItem'));
  }
}

export async function startImage(request: GenerationRequest, context: ProviderContext, settings: ArkSettings): Promise<StartResult> {
  const missing = missingChannel(context);
  if (missing) return { outcome: 'rejected', error: missing };
  const body = buildBody(request, context, settings);
  if (typeof body === 'string') return { outcome: 'rejected', error: { class: 'invalid_request', message: `ark image request: ${body}` } };
  const count = Math.min(MAX_IMAGES, Math.max(1, Math.floor(request.n ?? 1)));
  const operation: ArkImageOperation = {
    kind: 'image',
    id: `seedream-${request.taskId}`,
    images: [],
    failures: [],
    inputImageCount: request.references?.length ?? 0,
  };
  if (typeof body.size === 'string') operation.requestedSize = body.size;
  for (let index = 0; index < count; index += 1) {
    const answer = await submitCreate({
      label: 'ark image create',
      send: () => arkRequest(context, { method: 'POST', path: '/images/generations', body, idempotencyKey: request.taskId, timeoutMs: settings.imageTimeoutMs }),
      readError: createError,
      accept: (response) => {
        const parsed = response.json as ArkImageResponse | undefined;
        return Array.isArray(parsed?.data) ? { data: parsed.data, tokens: parsed.usage?.output_tokens } : null;
      },
    });
    if (!answer.ok) {
      // Nothing landed yet: the whole create failed. Later on, keep what was already produced (and billed).
      if (index === 0) return answer.failure;
      operation.failures.push(answer.response ? (errorCodeOf(answer.response) ?? `HTTP ${answer.response.status}`) : 'network');
      break;
    }
    collect(answer.value.data, context.baseUrl!, operation);
    const { tokens } = answer.value;
    if (typeof tokens === 'number') operation.outputTokens = (operation.outputTokens ?? 0) + tokens;
  }
  return {
    outcome: 'accepted',
    operation: operation as unknown as JsonValue,
    providerTaskId: operation.id,
    completed: imageResult(operation, context.baseUrl),
  };
}

function contentTypeOf(url: string): string {
  const path = url.split('?')[0]!.toLowerCase();
  if (path.endsWith('.png')) return 'image/png';
  if (path.endsWith('.webp')) return 'image/webp';
  return 'image/jpeg';
}

/** The final answer of a Seedream operation: the same on every call, since the upstream call was synchronous. */
export function imageResult(operation: ArkImageOperation, baseUrl: string | undefined): StatusResult {
  if (operation.images.length === 0) {
    const first = operation.failures[0];
    return {
      status: 'failed',
      usage: { billable: false },
      error: { class: classifyTaskFailure(first), message: `ark image: no image produced (${operation.failures.join(', ') || 'empty answer'})` },
    };
  }
  const outputs: ProviderOutput[] = operation.images.map((image) => {
    const output: ProviderOutput = { url: fromStoredUrl(image.url, baseUrl), contentType: contentTypeOf(image.url) };
    const match = /^(\d+)x(\d+)$/.exec(image.size ?? '');
    if (match) [output.width, output.height] = [Number(match[1]), Number(match[2])];
    return output;
  });
  const usage: ArkImageUsage = { billable: true, image_count: operation.images.length, input_image_count: operation.inputImageCount };
  const size = operation.images[0]?.size ?? operation.requestedSize;
  if (size) usage.image_size = size.toLowerCase();
  if (operation.outputTokens !== undefined) usage.upstream_tokens = operation.outputTokens;
  return { status: 'succeeded', progress: 100, outputs, usage };
}
