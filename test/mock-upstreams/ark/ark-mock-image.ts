import { makePng } from '../../../src/providers/sandbox/media.js';
import type { MockReply, MockRequest } from '../shared/harness.js';
import { moderatesOutput, scenarioError, tosUrl, transport, unixSeconds, type ArkMockState } from './ark-mock-shared.js';

/**
 * Seedream `POST {base}/images/generations` (PROVIDERS §2.5, §11.3): synchronous, no `n`, per-model size spelling,
 * partial success as `data[i].error` items, SSE events with `stream:true`. One accepted call = one counted create.
 */
const ALLOWED = new Set([
  'model', 'prompt', 'image', 'size', 'response_format', 'watermark', 'output_format', 'sequential_image_generation',
  'sequential_image_generation_options', 'stream', 'optimize_prompt_options', 'seed', 'guidance_scale',
]);
const TIERS: Record<string, number> = { '1k': 1024, '2k': 2048, '3k': 3072, '4k': 4096 };

interface SeedreamModel {
  lite5: boolean;
  five: boolean;
  minPixels: number;
  maxReferences: number;
}

function seedreamModel(model: string): SeedreamModel | null {
  const id = model.toLowerCase();
  if (!id.startsWith('ep-') && !/seedream|seededit/.test(id)) return null;
  const five = id.includes('seedream-5');
  const pro = id.includes('-pro');
  return { five, lite5: five && !pro, minPixels: id.includes('seedream-4-0') || id.startsWith('ep-') ? 921_600 : 3_686_400, maxReferences: five && pro ? 10 : 14 };
}

/** `size` → pixels, in the spelling this model accepts (quirk 9), or an error text. */
function parseSize(size: unknown, model: SeedreamModel): [number, number] | string {
  if (size === undefined) return [2048, 2048];
  if (typeof size !== 'string') return 'size must be a string';
  const tiers = model.lite5 ? ['2k', '3k', '4k'] : model.five ? ['2K', '4K'] : ['1K', '2K', '4K'];
  if (tiers.includes(size)) return [TIERS[size.toLowerCase()]!, TIERS[size.toLowerCase()]!];
  const match = /^(\d{2,5})x(\d{2,5})$/.exec(size);
  if (!match) return `size ${size} is not supported by this model (use ${tiers.join('|')} or WxH)`;
  const [width, height] = [Number(match[1]), Number(match[2])];
  if (width * height < model.minPixels || width * height > 4096 * 4096) return `size ${size} is outside the pixel range of this model`;
  if (width / height > 16 || height / width > 16) return `size ${size} has an unsupported aspect ratio`;
  return [width, height];
}

function validate(body: any, model: SeedreamModel): string | null {
  if ('n' in body) return 'the parameter `n` is not supported; send one request per image';
  for (const key of Object.keys(body)) if (!ALLOWED.has(key)) return `unknown field ${key}`;
  if (typeof body.prompt !== 'string' || !body.prompt) return 'prompt is required';
  const images = body.image === undefined ? [] : Array.isArray(body.image) ? body.image : [body.image];
  if (images.length > model.maxReferences) return `at most ${model.maxReferences} reference images`;
  if (images.some((image: unknown) => typeof image !== 'string' || !/^(https?:\/\/|data:image\/[a-z+.-]+;base64,)/i.test(image))) return 'image must be a URL or a data URI';
  if (body.response_format !== undefined && !['url', 'b64_json'].includes(body.response_format)) return 'response_format must be url or b64_json';
  if (body.watermark !== undefined && typeof body.watermark !== 'boolean') return 'watermark must be a boolean';
  if (body.output_format !== undefined && (!model.five || !['png', 'jpeg'].includes(body.output_format))) return 'output_format is png|jpeg on Seedream 5.x only';
  if (body.sequential_image_generation !== undefined && !['auto', 'disabled'].includes(body.sequential_image_generation)) return 'sequential_image_generation must be auto or disabled';
  const max = body.sequential_image_generation_options?.max_images;
  if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 15 || max + images.length > 15)) return 'max_images must be 1–15, references included';
  return null;
}

export function imageGeneration(state: ArkMockState, request: MockRequest): MockReply {
  const { context } = state;
  const moved = transport(state, request);
  if (moved) return moved;
  const body = request.json;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return state.error(400, 'InvalidParameter', 'The request body must be a JSON object.');
  const forced = scenarioError(state, request, body.image !== undefined);
  if (forced) return forced;
  if (typeof body.model !== 'string' || !body.model) return state.error(400, 'MissingParameter', 'The request is missing the `model` parameter.');
  const model = seedreamModel(body.model);
  if (!model) return state.error(404, 'InvalidEndpointOrModel.NotFound', `The model or endpoint ${body.model} does not exist or you do not have access to it.`);
  const problem = validate(body, model);
  if (problem) return state.error(400, 'InvalidParameter', `The request is not valid: ${problem}.`);
  const size = parseSize(body.size, model);
  if (typeof size === 'string') return state.error(400, 'InvalidParameter', `The parameter \`size\` specified in the request is not valid: ${size}.`);

  context.countCreate(request);
  state.images += 1;
  const key = `img-${String(state.images).padStart(6, '0')}`;
  const header = request.headers['idempotency-key'];
  context.tasks.set(key, { kind: 'image', id: key, request: body, idempotencyKey: (Array.isArray(header) ? header[0] : header) ?? null, scenarios: request.scenarios });
  if (context.has(request, 'empty_200')) return { status: 200 };

  const now = context.now();
  const count = body.sequential_image_generation === 'auto' ? (body.sequential_image_generation_options?.max_images ?? 1) : 1;
  const moderated = moderatesOutput(state, request, body.prompt);
  const [width, height] = size;
  const data: Array<Record<string, unknown>> = [];
  for (let index = 0; index < count; index += 1) {
    // Output moderation blocks one item of the set (the last); a single-image call is then fully blocked.
    if (moderated && index === count - 1) {
      data.push({ error: { code: 'OutputImageSensitiveContentDetected', message: 'The request failed because the output image may contain sensitive information.' } });
      continue;
    }
    const scale = Math.min(1, 64 / Math.max(width, height));
    const png = makePng(`${key}:${index}`, { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) });
    data.push(body.response_format === 'b64_json'
      ? { b64_json: png.toString('base64'), size: `${width}x${height}` }
      : { url: tosUrl(state, `${key}-${index}.png`, png, 'image/png', now, request), size: `${width}x${height}` });
  }
  const generated = data.filter((item) => !item.error).length;
  const tokens = (generated * width * height) / 256;
  const usage = { generated_images: generated, output_tokens: tokens, total_tokens: tokens };
  if (body.stream === true) return stream(data, usage);
  return { status: 200, body: { model: body.model, created: unixSeconds(now), data, usage } };
}

/** SSE: one `partial_succeeded`/`partial_failed` event per image, then `completed` with the usage (§2.5). */
function stream(data: Array<Record<string, unknown>>, usage: Record<string, number>): MockReply {
  const events = data.map((item, index) =>
    item.error
      ? { type: 'image_generation.partial_failed', image_index: index, error: item.error }
      : { type: 'image_generation.partial_succeeded', image_index: index, ...item },
  );
  events.push({ type: 'image_generation.completed', usage } as never);
  const text = events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('') + 'data: [DONE]\n\n';
  return { status: 200, headers: { 'content-type': 'text/event-stream' }, body: text };
}
