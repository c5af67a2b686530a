/**
 * Seedance create validation as Ark does it (PROVIDERS §2.1): strict top-level fields, per-model ranges, the
 * exclusive reference modes, no base64 video, no audio-only — plus the legacy trailing prompt flags (`--rs 720p`)
 * as a fallback for absent body fields. Returns the effective parameters the task will echo.
 */
export interface ArkModel {
  version: '1.0' | '1.5' | '2.0' | '2.5';
  fast: boolean;
  lite: boolean;
  pro: boolean;
  i2v: boolean;
}

export interface Effective {
  resolution: string;
  ratio: string;
  duration: number;
  frames?: number;
  seed: number;
  cameraFixed: boolean;
  watermark: boolean;
  generateAudio: boolean;
  returnLastFrame: boolean;
  serviceTier: string;
  executionExpiresAfter: number;
  draft: boolean;
  priority: number;
  webSearch: boolean;
  outputFormat: string;
  prompt: string;
  callbackUrl?: string;
  counts: { images: number; videos: number; audios: number };
}

export interface Invalid {
  status: number;
  code: string;
  message: string;
}

const ALLOWED = new Set([
  'model', 'content', 'resolution', 'ratio', 'duration', 'frames', 'seed', 'camera_fixed', 'watermark', 'generate_audio',
  'return_last_frame', 'callback_url', 'service_tier', 'execution_expires_after', 'draft', 'priority', 'tools',
  'safety_identifier', 'omni_reference_task_type', 'output_format',
]);
const RATIOS = new Set(['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive']);
const FLAG_NAMES: Record<string, string> = {
  rs: 'resolution', resolution: 'resolution', rt: 'ratio', ratio: 'ratio', dur: 'duration', duration: 'duration',
  seed: 'seed', cf: 'camera_fixed', camerafixed: 'camera_fixed', wm: 'watermark', watermark: 'watermark', frames: 'frames',
  fps: 'fps', framepersecond: 'fps',
};

/** Model id → family; `ep-…` endpoint ids behave like 2.0. Null: an unknown model (404). */
export function arkModel(model: string): ArkModel | null {
  const id = model.toLowerCase();
  const flags = { fast: id.includes('fast'), lite: id.includes('lite'), pro: id.includes('pro'), i2v: id.includes('i2v') };
  if (id.startsWith('ep-')) return { version: '2.0', ...flags };
  if (!id.includes('seedance')) return null;
  if (id.includes('seedance-1-0')) return { version: '1.0', ...flags };
  if (id.includes('seedance-1-5')) return { version: '1.5', ...flags };
  if (id.includes('seedance-2-0')) return { version: '2.0', ...flags };
  if (id.includes('seedance-2-5')) return { version: '2.5', ...flags };
  return null;
}

const invalid = (param: string, detail: string): Invalid => ({
  status: 400,
  code: 'InvalidParameter',
  message: `The parameter \`${param}\` specified in the request is not valid: ${detail}.`,
});

/** Trailing `--flag value` pairs of the prompt, last first; the prompt without them. */
export function trailingFlags(text: string): { prompt: string; flags: Record<string, string> } {
  const flags: Record<string, string> = {};
  let rest = text;
  for (;;) {
    const match = /\s*--([a-z]+)\s+(\S+)\s*$/i.exec(rest);
    const name = match ? FLAG_NAMES[match[1]!.toLowerCase()] : undefined;
    if (!match || !name) break;
    if (!(name in flags)) flags[name] = match[2]!;
    rest = rest.slice(0, match.index);
  }
  return { prompt: rest, flags };
}

const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value);

function checkContent(content: any[], model: ArkModel): Invalid | { prompt: string; counts: Effective['counts'] } {
  let prompt = '';
  const roles: string[] = [];
  const counts = { images: 0, videos: 0, audios: 0 };
  const two = model.version === '2.0' || model.version === '2.5';
  for (const item of content) {
    const type = item?.type;
    if (type === 'text') {
      if (typeof item.text !== 'string') return invalid('content.text', 'text must be a string');
      prompt = item.text;
    } else if (type === 'image_url') {
      const url = item.image_url?.url;
      if (typeof url !== 'string' || !/^(https?:\/\/|data:image\/[a-z+.-]+;base64,|asset:\/\/)/i.test(url)) return invalid('content.image_url', 'unsupported image url');
      if (item.role !== undefined && !['first_frame', 'last_frame', 'reference_image'].includes(item.role)) return invalid('content.role', 'unknown role');
      roles.push(item.role ?? 'unspecified');
      counts.images += 1;
    } else if (type === 'video_url') {
      const url = item.video_url?.url;
      if (!two) return invalid('content.video_url', 'reference video needs Seedance 2.x');
      if (typeof url === 'string' && url.startsWith('data:')) return invalid('content.video_url', 'base64 video is not supported');
      if (typeof url !== 'string' || !/^(https?|asset):\/\//.test(url)) return invalid('content.video_url', 'unsupported video url');
      if (item.role !== 'reference_video') return invalid('content.role', 'video role must be reference_video');
      roles.push('reference_video');
      counts.videos += 1;
    } else if (type === 'audio_url') {
      const url = item.audio_url?.url;
      if (!two) return invalid('content.audio_url', 'reference audio needs Seedance 2.x');
      if (typeof url !== 'string' || !/^(https?:\/\/|data:audio\/[a-z0-9+.-]+;base64,|asset:\/\/)/i.test(url)) return invalid('content.audio_url', 'unsupported audio url');
      if (item.role !== 'reference_audio') return invalid('content.role', 'audio role must be reference_audio');
      roles.push('reference_audio');
      counts.audios += 1;
    } else if (type === 'draft_task') {
      if (model.version !== '1.5') return invalid('content.draft_task', 'draft tasks need Seedance 1.5 pro');
      if (typeof item.draft_task?.id !== 'string' || !item.draft_task.id.startsWith('cgt-')) return invalid('content.draft_task', 'bad draft task id');
    } else {
      return invalid('content.type', `unknown content type ${String(type)}`);
    }
  }
  const frames = roles.filter((role) => role === 'first_frame' || role === 'last_frame');
  const references = roles.filter((role) => role.startsWith('reference_'));
  const unspecified = roles.filter((role) => role === 'unspecified').length;
  if (unspecified > 0 && counts.images > 1) return invalid('content.role', 'role is required when several images are given');
  if ((frames.length > 0 || unspecified > 0) && references.length > 0) return invalid('content', 'first/last frame and reference modes cannot be mixed');
  if (roles.filter((role) => role === 'first_frame').length > 1 || roles.filter((role) => role === 'last_frame').length > 1) return invalid('content.role', 'duplicate frame role');
  if (frames.includes('last_frame') && !frames.includes('first_frame')) return invalid('content.role', 'last_frame needs first_frame');
  const referenceImages = roles.filter((role) => role === 'reference_image').length;
  const maxReferences = model.version === '2.5' ? 30 : two ? 9 : model.lite && model.i2v ? 4 : 0;
  if (referenceImages > maxReferences) return invalid('content.role', `at most ${maxReferences} reference images on this model`);
  if (counts.videos > (model.version === '2.5' ? 10 : 3) || counts.audios > (model.version === '2.5' ? 10 : 3)) return invalid('content', 'too many reference clips');
  if (counts.audios > 0 && counts.images + counts.videos === 0 && model.version !== '2.5') return invalid('content.audio_url', 'audio needs an image or video reference');
  if (!prompt && roles.length === 0) return { status: 400, code: 'MissingParameter', message: 'The request is missing the `content` text or media.' };
  return { prompt, counts };
}

function durationRange(model: ArkModel): [number, number, boolean] {
  if (model.version === '1.0') return [2, 12, false];
  if (model.version === '1.5') return [4, 12, true];
  if (model.version === '2.5') return [4, 30, true];
  return [4, 15, true];
}

/** Validates a create body; `seedOf` derives the random seed deterministically from the task. */
export function validateVideo(body: any, model: ArkModel, seedOf: () => number): Effective | Invalid {
  for (const key of Object.keys(body)) if (!ALLOWED.has(key)) return invalid(key, 'unknown field');
  if (!Array.isArray(body.content) || body.content.length === 0) return { status: 400, code: 'MissingParameter', message: 'The request is missing the `content` parameter.' };
  const content = checkContent(body.content, model);
  if ('code' in content) return content;
  const { prompt, flags } = trailingFlags(content.prompt);
  const two = model.version === '2.0' || model.version === '2.5';
  const pick = (field: string) => (body[field] !== undefined ? body[field] : flagValue(flags[field]));

  const resolution = pick('resolution') ?? (model.version === '1.0' && model.pro ? '1080p' : '720p');
  const resolutions = two && !model.fast ? ['480p', '720p', '1080p', '4k'] : ['480p', '720p', '1080p'];
  if (!resolutions.includes(resolution)) return invalid('resolution', `${String(resolution)} is not supported by this model`);
  if (resolution === '1080p' && (model.version === '2.0' && model.fast)) return invalid('resolution', '1080p is not supported by 2.0 fast');
  if (resolution === '1080p' && model.lite && content.counts.images > 0 && body.content.some((item: any) => item.role === 'reference_image')) return invalid('resolution', '1080p is not supported in reference mode');
  const ratio = pick('ratio') ?? (model.version === '1.0' && content.counts.images === 0 ? '16:9' : 'adaptive');
  if (!RATIOS.has(ratio)) return invalid('ratio', `${String(ratio)} is not a supported ratio`);
  const [min, max, auto] = durationRange(model);
  const duration = pick('duration') ?? 5;
  if (!isInt(duration) || !((duration >= min && duration <= max) || (auto && duration === -1))) return invalid('duration', `must be an integer in [${min}, ${max}]`);
  const frames = pick('frames');
  if (frames !== undefined && (model.version !== '1.0' || !isInt(frames) || frames < 29 || frames > 289 || (frames - 25) % 4 !== 0)) return invalid('frames', 'frames must be 25+4n in [29, 289] (Seedance 1.0 only)');
  const seed = pick('seed') ?? -1;
  if (!isInt(seed) || seed < -1 || seed > 2 ** 32 - 1) return invalid('seed', 'must be an integer in [-1, 4294967295]');
  for (const field of ['camera_fixed', 'watermark', 'generate_audio', 'return_last_frame', 'draft']) {
    const value = pick(field);
    if (value !== undefined && typeof value !== 'boolean') return invalid(field, 'must be a boolean');
  }
  const cameraFixed = pick('camera_fixed') ?? false;
  if (cameraFixed && (two || body.content.some((item: any) => item.role === 'reference_image'))) return invalid('camera_fixed', 'not supported with reference images or on 2.x');
  if (body.callback_url !== undefined && (typeof body.callback_url !== 'string' || !/^https?:\/\//.test(body.callback_url))) return invalid('callback_url', 'must be an http(s) URL');
  const serviceTier = body.service_tier ?? 'default';
  if (!['default', 'flex'].includes(serviceTier) || (serviceTier === 'flex' && two)) return invalid('service_tier', 'flex is not available for this model');
  const expiresAfter = body.execution_expires_after ?? 172_800;
  if (!isInt(expiresAfter) || expiresAfter < 3600 || expiresAfter > 259_200) return invalid('execution_expires_after', 'must be in [3600, 259200]');
  if (body.draft === true && model.version !== '1.5') return invalid('draft', 'draft needs Seedance 1.5 pro');
  if (body.priority !== undefined && (!two || !isInt(body.priority) || body.priority < 0 || body.priority > 9)) return invalid('priority', 'an integer 0–9 on 2.x only');
  if (body.tools !== undefined && (!two || !Array.isArray(body.tools) || body.tools.some((tool: any) => tool?.type !== 'web_search'))) return invalid('tools', 'only web_search on 2.x');
  if (body.safety_identifier !== undefined && (typeof body.safety_identifier !== 'string' || body.safety_identifier.length > 64)) return invalid('safety_identifier', 'a string of at most 64 characters');
  if ((body.omni_reference_task_type !== undefined || body.output_format !== undefined) && model.version !== '2.5') return invalid('output_format', 'Seedance 2.5 only');
  if (body.output_format !== undefined && !['mp4', 'mov'].includes(body.output_format)) return invalid('output_format', 'mp4 or mov');
  return {
    resolution,
    ratio,
    duration,
    ...(frames !== undefined ? { frames } : {}),
    seed: seed === -1 ? seedOf() : seed,
    cameraFixed,
    watermark: pick('watermark') ?? false,
    // 1.0 has no audio track whatever is asked; 1.5/2.x default to audio on (quirk 17).
    generateAudio: model.version === '1.0' ? false : (pick('generate_audio') ?? true),
    returnLastFrame: body.return_last_frame ?? false,
    serviceTier,
    executionExpiresAfter: expiresAfter,
    draft: body.draft ?? false,
    priority: body.priority ?? 0,
    webSearch: Array.isArray(body.tools) && body.tools.length > 0,
    outputFormat: body.output_format ?? 'mp4',
    prompt,
    ...(typeof body.callback_url === 'string' ? { callbackUrl: body.callback_url } : {}),
    counts: content.counts,
  };
}

/** Flag text → the JSON value a body field would carry. */
function flagValue(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+$/.test(raw)) return Number(raw);
  return raw;
}
