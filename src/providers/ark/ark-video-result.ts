import { videoDimensions } from '../../lib/video-size.js';
import type { ProviderOutput, UsageFacts } from '../spec.js';
import type { ArkVideoOperation, ArkVideoTask } from './ark-api-types.js';

/**
 * A succeeded Seedance task → outputs and usage facts (PROVIDERS §2.2, §12). Billing uses what Ark RETURNED, not
 * what was asked (quirk 2): `duration` may be the model's pick for −1, or floor(frames/24).
 */

/** Facts beyond the typed core of `UsageFacts` (§12); pricing reads the ones it knows. */
export interface ArkVideoUsage extends UsageFacts {
  video_size?: string;
  video_ratio?: string;
  video_audio?: boolean;
  input_video_seconds?: number;
  service_tier?: string;
  draft?: boolean;
  web_search_calls?: number;
  /** Informational upstream amount (`usage.completion_tokens`); never priced directly. */
  upstream_tokens?: number;
}

/** Ark's own output sizes where PROVIDERS §2.1 documents them (1.5/2.x); others fall back to the generic table. */
const ARK_SIZES: Record<string, Record<string, [number, number]>> = {
  '480p': { '16:9': [864, 496], '1:1': [640, 640] },
  '720p': { '16:9': [1280, 720], '1:1': [960, 960] },
  '1080p': { '16:9': [1920, 1080], '1:1': [1440, 1440] },
};

export function arkVideoSize(ratio: string | undefined, resolution: string | undefined): [number, number] | null {
  if (!resolution) return null;
  const res = resolution.toLowerCase();
  const known = ARK_SIZES[res];
  if (known && ratio) {
    const direct = known[ratio];
    if (direct) return direct;
    // Portrait ratios are the landscape sizes turned on their side.
    const [a, b] = ratio.split(':');
    const flipped = known[`${b}:${a}`];
    if (flipped) return [flipped[1], flipped[0]];
  }
  if (!(res in ARK_SIZES)) return null;
  return videoDimensions(ratio ?? '16:9', res);
}

/** Returned seconds: `duration` when Ark gives one (≥ 0), else frames ÷ fps (fps without underscore, quirk 1). */
export function returnedSeconds(task: ArkVideoTask): number | undefined {
  if (typeof task.duration === 'number' && task.duration >= 0) return task.duration;
  if (typeof task.frames === 'number' && task.frames > 0) {
    const fps = typeof task.framespersecond === 'number' && task.framespersecond > 0 ? task.framespersecond : 24;
    return Math.floor(task.frames / fps);
  }
  return undefined;
}

export function videoUsage(task: ArkVideoTask, operation: ArkVideoOperation): ArkVideoUsage {
  const usage: ArkVideoUsage = { billable: true };
  const seconds = returnedSeconds(task);
  if (seconds !== undefined) usage.video_seconds = seconds;
  if (task.resolution) usage.video_resolution = task.resolution.toLowerCase();
  if (task.ratio) usage.video_ratio = task.ratio;
  const size = arkVideoSize(task.ratio, task.resolution);
  if (size) usage.video_size = `${size[0]}x${size[1]}`;
  if (typeof task.generate_audio === 'boolean') usage.video_audio = task.generate_audio;
  if (operation.inputVideoSeconds) usage.input_video_seconds = operation.inputVideoSeconds;
  if (task.service_tier) usage.service_tier = task.service_tier;
  if (typeof task.draft === 'boolean') usage.draft = task.draft;
  usage.web_search_calls = task.usage?.tool_usage?.web_search ?? 0;
  if (typeof task.usage?.completion_tokens === 'number') usage.upstream_tokens = task.usage.completion_tokens;
  return usage;
}

export function videoOutputs(task: ArkVideoTask): ProviderOutput[] {
  const url = task.content?.video_url;
  if (!url) return [];
  const output: ProviderOutput = { url, contentType: task.output_format === 'mov' ? 'video/quicktime' : 'video/mp4' };
  const seconds = returnedSeconds(task);
  if (seconds !== undefined) output.durationSeconds = seconds;
  const size = arkVideoSize(task.ratio, task.resolution);
  if (size) [output.width, output.height] = size;
  return [output];
}
