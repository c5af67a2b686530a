import type { GenerationRequest, ReferenceInput } from '../spec.js';
import type { DashscopeCreateBody, DashscopeMedia, VideoMode } from './dashscope-api-types.js';
import type { DashscopeSettings } from './dashscope-settings.js';

/**
 * Canonical request → DashScope create body, validated locally first (PROVIDERS §5 field table): a request the
 * upstream would refuse is rejected here as `invalid_request`, without spending a create or a rate-limit slot.
 */
export interface BuiltRequest {
  body: DashscopeCreateBody;
  mode: VideoMode;
  seconds: number;
  resolution: string;
  ratio?: string;
}

const RESOLUTIONS = new Set(['720p', '1080p']);
const RATIOS = new Set(['16:9', '9:16', '1:1', '4:3', '3:4']);
const MAX_SEED = 2_147_483_647;

/** The mode of a model: configured, else the HappyHorse suffix, else what the references imply. */
export function modeOf(model: string, references: ReferenceInput[], settings: DashscopeSettings): VideoMode {
  const configured = settings.modelModes[model];
  if (configured) return configured;
  if (/-t2v$/i.test(model)) return 't2v';
  if (/-i2v$/i.test(model)) return 'i2v';
  if (/-r2v$/i.test(model)) return 'r2v';
  if (/-(video-)?edit$/i.test(model)) return 'edit';
  if (references.some((reference) => reference.type === 'video')) return 'edit';
  const images = references.filter((reference) => reference.type === 'image');
  if (images.length === 1 && /first/i.test(images[0]!.role)) return 'i2v';
  return images.length > 0 ? 'r2v' : 't2v';
}

/** Media entries per mode; DashScope fetches them itself, so every reference needs a shareable http(s) URL. */
function mediaFor(mode: VideoMode, references: ReferenceInput[]): DashscopeMedia[] | string {
  if (references.some((reference) => reference.type === 'audio')) return 'audio references are not supported';
  if (references.some((reference) => !reference.url || !/^https?:\/\//i.test(reference.url))) {
    return 'every reference needs a shareable http(s) URL (DashScope accepts no inline media)';
  }
  const images = references.filter((reference) => reference.type === 'image');
  const videos = references.filter((reference) => reference.type === 'video');
  switch (mode) {
    case 't2v':
      return references.length === 0 ? [] : 'text-to-video takes no references';
    case 'i2v':
      if (images.length !== 1 || videos.length > 0) return 'image-to-video takes exactly one first-frame image';
      return [{ type: 'first_frame', url: images[0]!.url! }];
    case 'r2v':
      if (images.length < 1 || images.length > 9 || videos.length > 0) return 'reference-to-video takes 1–9 reference images';
      return images.map((image) => ({ type: 'reference_image' as const, url: image.url! }));
    case 'edit':
      if (videos.length !== 1) return 'video edit takes exactly one video';
      if (images.length > 5) return 'video edit takes at most 5 reference images';
      return [{ type: 'video', url: videos[0]!.url! }, ...images.map((image) => ({ type: 'reference_image' as const, url: image.url! }))];
  }
}

export function buildRequest(request: GenerationRequest, model: string, settings: DashscopeSettings): BuiltRequest | { invalid: string } {
  if (request.kind !== 'video') return { invalid: `kind ${request.kind} is not served by DashScope HappyHorse` };
  const mode = modeOf(model, request.references, settings);
  const seconds = request.seconds ?? settings.defaultSeconds;
  if (!Number.isInteger(seconds) || seconds < 3 || seconds > 15) return { invalid: `duration ${seconds} outside 3–15 s` };
  // Quirk 9: normalise to lowercase internally, re-case for the wire from config.
  const resolution = (request.resolution ?? settings.defaultResolution).toLowerCase();
  if (!RESOLUTIONS.has(resolution)) return { invalid: `resolution ${resolution} not offered (720p, 1080p)` };
  // i2v follows the first frame's aspect, so a ratio is neither sent nor checked there.
  const ratio = mode === 't2v' || mode === 'r2v' ? request.ratio : undefined;
  if (ratio !== undefined && !RATIOS.has(ratio)) return { invalid: `ratio ${ratio} not offered` };
  if (request.seed !== undefined && (!Number.isInteger(request.seed) || request.seed < 0 || request.seed > MAX_SEED)) {
    return { invalid: 'seed outside 0–2147483647' };
  }
  if (mode === 't2v' && !request.prompt.trim()) return { invalid: 'text-to-video needs a prompt' };
  const media = mediaFor(mode, request.references);
  if (typeof media === 'string') return { invalid: media };

  const body: DashscopeCreateBody = {
    model,
    input: { prompt: request.prompt, ...(media.length > 0 ? { media } : {}) },
    parameters: {
      resolution: settings.resolutionCase === 'upper' ? resolution.toUpperCase() : resolution,
      ...(ratio !== undefined ? { ratio } : {}),
      duration: seconds,
      watermark: settings.watermark,
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      // Turning audio off on an edit keeps the source video's own track (`origin`) instead of generating one.
      ...(mode === 'edit' ? { audio_setting: request.generate_audio === false ? 'origin' : settings.audioSetting } : {}),
    },
  };
  return { body, mode, seconds, resolution, ...(ratio !== undefined ? { ratio } : {}) };
}
