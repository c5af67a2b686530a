import { makePng } from '../../../src/providers/sandbox/media.js';
import type { Scenario } from '../../../src/providers/sandbox/scenario.js';
import { tosUrl, unixSeconds, type ArkMockState } from './ark-mock-shared.js';
import type { Effective } from './ark-mock-validate.js';

/**
 * One mock Seedance task: its lifecycle in mock time and its GET/callback body (PROVIDERS §2.2). The lifecycle
 * is fixed at create time (start slot, end, expiry), so every read is a pure function of the clock.
 */
export type ArkStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export interface VideoTask {
  kind: 'video';
  id: string;
  model: string;
  /** The create body exactly as received, for tests to inspect (`control.tasks`). */
  request: unknown;
  idempotencyKey: string | null;
  scenarios: Scenario[];
  effective: Effective;
  acceptedAt: number;
  /** When it gets a slot; null = never (the `expire` scenario, or still queued at expiry). */
  startAt: number | null;
  endAt: number | null;
  expiresAt: number;
  outcome: 'success' | 'moderation_output';
  cancelledAt?: number;
  videoUrl?: string;
  lastFrameUrl?: string;
}

const SYNONYMS: Partial<Record<ArkStatus, string>> = { queued: 'pending', running: 'processing' };

export function statusAt(task: VideoTask, now: number): ArkStatus {
  if (task.cancelledAt !== undefined) return 'cancelled';
  if (task.startAt === null || now < task.startAt) return now >= task.expiresAt ? 'expired' : 'queued';
  if (now < (task.endAt ?? Infinity)) return 'running';
  return task.outcome === 'moderation_output' ? 'failed' : 'succeeded';
}

/** Documented output sizes (§2.1, 1.5/2.x); other ratios keep the short side at the resolution's height. */
const SIZES: Record<string, Record<string, [number, number]>> = {
  '480p': { '16:9': [864, 496], '1:1': [640, 640] },
  '720p': { '16:9': [1280, 720], '1:1': [960, 960] },
  '1080p': { '16:9': [1920, 1080], '1:1': [1440, 1440] },
  '4k': { '16:9': [3840, 2160], '1:1': [2880, 2880] },
};
const HEIGHTS: Record<string, number> = { '480p': 480, '720p': 720, '1080p': 1080, '4k': 2160 };

export function outputSize(resolution: string, ratio: string): [number, number] {
  const direct = SIZES[resolution]?.[ratio];
  if (direct) return direct;
  const [w, h] = ratio.split(':').map(Number) as [number, number];
  const flipped = SIZES[resolution]?.[`${h}:${w}`];
  if (flipped) return [flipped[1], flipped[0]];
  const short = HEIGHTS[resolution] ?? 720;
  const even = (value: number) => Math.round(value / 2) * 2;
  return w >= h ? [even((short * w) / h), short] : [short, even((short * h) / w)];
}

/** What the task reports: adaptive resolved to 16:9, −1 resolved to the model's pick, frames → floor(frames/24). */
export function echoed(task: VideoTask): { ratio: string; duration: number } {
  const ratio = task.effective.ratio === 'adaptive' ? '16:9' : task.effective.ratio;
  const duration = task.effective.frames !== undefined ? Math.floor(task.effective.frames / 24) : task.effective.duration === -1 ? 8 : task.effective.duration;
  return { ratio, duration };
}

function publish(state: ArkMockState, task: VideoTask): void {
  if (task.videoUrl || task.endAt === null) return;
  const { ratio, duration } = echoed(task);
  const [width, height] = outputSize(task.effective.resolution, ratio);
  // One frame per second keeps fixtures tiny; the tkhd still names the (clamped) size.
  const mp4 = state.context.video(task.id, { width, height, seconds: duration, fps: 1 });
  task.videoUrl = tosUrl(state, `${task.id}.mp4`, mp4, 'video/mp4', task.endAt, task);
  if (task.effective.returnLastFrame) {
    const png = makePng(`${task.id}:last`, { width: Math.max(1, Math.round(width / 20)), height: Math.max(1, Math.round(height / 20)) });
    task.lastFrameUrl = tosUrl(state, `${task.id}-last.png`, png, 'image/png', task.endAt, task);
  }
}

/** The GET body; `as` renders an earlier status (callbacks of stages the clock already passed). */
export function view(state: ArkMockState, task: VideoTask, as?: ArkStatus): Record<string, unknown> {
  const now = state.context.now();
  const status = as ?? statusAt(task, now);
  const synonyms = task.scenarios.some((scenario) => scenario.id === 'status_synonyms');
  const { ratio, duration } = echoed(task);
  const [width, height] = outputSize(task.effective.resolution, ratio);
  const body: Record<string, unknown> = {
    id: task.id,
    model: task.model,
    status: (synonyms && SYNONYMS[status]) || status,
    error: null,
    created_at: unixSeconds(task.acceptedAt),
    updated_at: unixSeconds(updatedAt(task, status)),
    seed: task.effective.seed,
    resolution: task.effective.resolution,
    ratio,
    ...(task.effective.frames !== undefined ? { frames: task.effective.frames } : { duration }),
    framespersecond: 24,
    service_tier: task.effective.serviceTier,
    execution_expires_after: task.effective.executionExpiresAfter,
    generate_audio: task.effective.generateAudio,
    draft: task.effective.draft,
    priority: task.effective.priority,
    output_format: task.effective.outputFormat,
  };
  if (status === 'succeeded') {
    publish(state, task);
    body.content = { video_url: task.videoUrl, ...(task.lastFrameUrl ? { last_frame_url: task.lastFrameUrl } : {}) };
    const tokens = Math.floor((duration * width * height * 24) / 1024);
    body.usage = { completion_tokens: tokens, total_tokens: tokens, tool_usage: { web_search: task.effective.webSearch ? 1 : 0 } };
  }
  if (status === 'failed') {
    // Output moderation: failed after acceptance, no usage (§11.3).
    body.error = {
      code: 'OutputVideoSensitiveContentDetected.PolicyViolation',
      message: `The request failed because the output video may be related to copyright restrictions. Request id: ${state.requestId()}`,
    };
  }
  return body;
}

function updatedAt(task: VideoTask, status: ArkStatus): number {
  if (status === 'cancelled') return task.cancelledAt ?? task.acceptedAt;
  if (status === 'expired') return task.expiresAt;
  if (status === 'running') return task.startAt ?? task.acceptedAt;
  if (status === 'succeeded' || status === 'failed') return task.endAt ?? task.acceptedAt;
  return task.acceptedAt;
}

/** The statuses a callback receiver is told about, in order, up to `current` (§2.4: not `cancelled`). */
export function stagesUpTo(current: ArkStatus): ArkStatus[] {
  switch (current) {
    case 'queued':
    case 'cancelled':
      return ['queued'];
    case 'running':
      return ['queued', 'running'];
    case 'expired':
      return ['queued', 'expired'];
    default:
      return ['queued', 'running', current];
  }
}
