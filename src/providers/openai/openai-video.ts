import { videoDimensions } from '../../lib/video-size.js';
import { UpstreamNetworkError, upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { taskNotFound } from '../shared/task-not-found.js';
import type { CanonicalStatus, GenerationRequest, JsonValue, ProviderContext, StartResult, StatusResult } from '../spec.js';
import type { OpenAIUsageFacts, OpenAIVideo } from './openai-api-types.js';
import { submitCreate } from '../shared/start.js';
import { forward, readStatus } from '../shared/status-table.js';
import { classifyError, createError, TransientReadError } from './openai-errors.js';
import { extension } from './openai-image.js';
import { baseHeaders, endpoint, type OpenAISettings } from './openai-settings.js';
import { OPENAI_STATUSES } from './openai-status.js';

/**
 * Sora video (PROVIDERS §4.5): multipart create, poll `GET /videos/{id}`, then the result exists only as a binary
 * `GET /videos/{id}/content` bounded by `expires_at` (quirk 15), so the adapter downloads it and hands the engine
 * bytes. There is no cancel (DELETE only removes finished videos) and no per-request callback.
 */
export interface VideoOperation {
  kind: 'video';
  videoId: string;
  model: string;
  /** Requested values, as strings like the API (quirk 3); the returned ones are billed when present. */
  seconds?: string;
  size?: string;
  /** Highest non-terminal status reported so far, so reads never move backwards (§0.2). */
  seen: 'queued' | 'running';
  progress: number;
}

/** The Sora size to send: the request's own, else ratio + resolution (`16:9`/`720p` → `1280x720`). */
function videoSize(request: GenerationRequest): string | undefined {
  if (request.size) return request.size;
  if (!request.ratio && !request.resolution) return undefined;
  const [width, height] = videoDimensions(request.ratio ?? '16:9', request.resolution ?? '720p');
  return `${width}x${height}`;
}

/** Local checks against the configured lists, so an impossible request never costs an upstream call. */
function validate(request: GenerationRequest, settings: OpenAISettings): { seconds?: string; size?: string; error?: string } {
  const seconds = request.seconds === undefined ? undefined : String(request.seconds);
  if (seconds !== undefined && !settings.videoSeconds.includes(seconds)) return { error: `seconds "${seconds}" not in ${settings.videoSeconds.join('/')}` };
  const size = videoSize(request);
  if (size !== undefined && !settings.videoSizes.includes(size)) return { error: `size "${size}" not in ${settings.videoSizes.join('/')}` };
  const images = request.references.filter((reference) => reference.type === 'image');
  if (images.length !== request.references.length) return { error: 'Sora accepts only an image input_reference' };
  if (images.length > 1) return { error: 'Sora accepts one input_reference' };
  return { ...(seconds !== undefined ? { seconds } : {}), ...(size !== undefined ? { size } : {}) };
}

export async function startVideo(request: GenerationRequest, context: ProviderContext, settings: OpenAISettings): Promise<StartResult> {
  const checked = validate(request, settings);
  if (checked.error) return { outcome: 'rejected', error: { class: 'invalid_request', message: `openai: ${checked.error}` } };
  // The official client always sends multipart; it is also the only way to attach input_reference (a file, never
  // a URL: quirk 24).
  const form = new FormData();
  form.append('prompt', request.prompt);
  form.append('model', context.upstreamModel);
  if (checked.seconds !== undefined) form.append('seconds', checked.seconds);
  if (checked.size !== undefined) form.append('size', checked.size);
  const reference = request.references[0];
  if (reference) form.append('input_reference', new Blob([reference.bytes], { type: reference.contentType }), `reference.${extension(reference.contentType)}`);
  // Response serialises the FormData into multipart bytes and its boundary header, locally.
  const serialised = new Response(form);
  const body = Buffer.from(await serialised.arrayBuffer());
  const answer = await submitCreate({
    label: 'openai video create',
    send: () =>
      upstreamRequest({
        method: 'POST',
        url: endpoint(context, '/videos'),
        headers: {
          ...baseHeaders(context, settings),
          'content-type': serialised.headers.get('content-type') ?? 'multipart/form-data',
          'idempotency-key': request.taskId,
        },
        body,
        timeoutMs: settings.timeoutMs,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    readError: (response) => createError(response, context),
    accept: (response) => {
      const video = response.json as OpenAIVideo | undefined;
      return video && typeof video === 'object' && typeof video.id === 'string' && video.id !== '' ? (video as OpenAIVideo & { id: string }) : null;
    },
  });
  if (!answer.ok) return answer.failure;
  const video = answer.value;
  const operation: VideoOperation = {
    kind: 'video',
    videoId: video.id,
    model: typeof video.model === 'string' ? video.model : context.upstreamModel,
    ...(checked.seconds !== undefined ? { seconds: checked.seconds } : {}),
    ...(checked.size !== undefined ? { size: checked.size } : {}),
    seen: 'queued',
    progress: 0,
  };
  return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: video.id };
}

async function read(url: string, context: ProviderContext, settings: OpenAISettings, timeoutMs: number): Promise<UpstreamResponse> {
  try {
    return await upstreamRequest({ method: 'GET', url, headers: baseHeaders(context, settings), timeoutMs, ...(context.signal ? { signal: context.signal } : {}) });
  } catch (error) {
    const detail = error instanceof UpstreamNetworkError ? error.message : String(error);
    throw new TransientReadError(`openai read failed: ${detail}`);
  }
}

/** `1280x720` → `720p` (short side): the resolution key pricing uses; the exact size is reported too. */
function resolutionOf(size: string | undefined): string | undefined {
  const match = size ? /^(\d+)x(\d+)$/.exec(size) : null;
  return match ? `${Math.min(Number(match[1]), Number(match[2]))}p` : undefined;
}

function usageOf(video: OpenAIVideo, operation: VideoOperation, billable: boolean): OpenAIUsageFacts {
  const seconds = Number(video.seconds ?? operation.seconds);
  const size = video.size ?? operation.size;
  const resolution = resolutionOf(size);
  return {
    ...(Number.isFinite(seconds) && seconds > 0 ? { video_seconds: seconds } : {}),
    ...(resolution ? { video_resolution: resolution } : {}),
    ...(size ? { video_size: size } : {}),
    video_model: video.model ?? operation.model,
    billable,
  };
}

export async function videoStatus(operation: VideoOperation, context: ProviderContext, settings: OpenAISettings): Promise<StatusResult> {
  const base = endpoint(context, `/videos/${encodeURIComponent(operation.videoId)}`);
  const response = await read(base, context, settings, settings.timeoutMs);
  // The video is unknown (purged, deleted, never created, or not visible to this project): the one "task not
  // found" answer of every adapter (shared/task-not-found.ts). A 404 on `/content` of a completed video is
  // different: the video exists and only its bytes expired (below).
  if (response.status === 404) return taskNotFound(classifyError(response, context).message);
  const video = response.json as OpenAIVideo | undefined;
  if (response.status !== 200 || !video || typeof video !== 'object' || typeof video.status !== 'string') {
    throw new TransientReadError(classifyError(response, context).message);
  }
  const mapped = readStatus(OPENAI_STATUSES, video.status).status;
  const status: CanonicalStatus = forward(operation.seen, mapped);
  if (status === 'queued' || status === 'running') {
    const progress = Math.max(operation.progress, typeof video.progress === 'number' ? Math.min(99, Math.max(0, Math.floor(video.progress))) : 0);
    const changed = status !== operation.seen || progress !== operation.progress;
    return { status, progress, ...(changed ? { operation: { ...operation, seen: status, progress } as unknown as JsonValue } : {}) };
  }
  if (status === 'failed') {
    const code = video.error?.code ?? '';
    const detail = `openai video failed ${code || '-'}: ${video.error?.message ?? ''}`;
    // Input moderation is a synchronous 400, so a moderation code on a failed video means the output was blocked.
    const moderated = /moderation|content_policy|safety/i.test(code);
    return { status: 'failed', usage: usageOf(video, operation, false), error: { class: moderated ? 'moderation_output' : 'upstream_error', message: detail } };
  }
  if (status !== 'succeeded') return { status, usage: usageOf(video, operation, false) };
  return download(video, operation, context, settings, `${base}/content?variant=video`);
}

async function download(video: OpenAIVideo, operation: VideoOperation, context: ProviderContext, settings: OpenAISettings, url: string): Promise<StatusResult> {
  const content = await read(url, context, settings, settings.downloadTimeoutMs);
  if (content.status === 404 || content.status === 410) {
    // Completed, but `expires_at` passed before the bytes were copied: the result is purged upstream.
    return { status: 'expired', usage: usageOf(video, operation, false), error: { class: 'not_found', message: classifyError(content, context).message } };
  }
  if (content.status !== 200 || content.bytes.length === 0) throw new TransientReadError(classifyError(content, context).message);
  const usage = usageOf(video, operation, true);
  const [width, height] = (video.size ?? operation.size ?? '').split('x').map(Number);
  const contentType = String(content.headers['content-type'] ?? 'video/mp4').split(';')[0]!.trim() || 'video/mp4';
  return {
    status: 'succeeded',
    progress: 100,
    outputs: [{
      contentType,
      bytes: content.bytes,
      ...(width && height ? { width, height } : {}),
      ...(usage.video_seconds !== undefined ? { durationSeconds: usage.video_seconds } : {}),
    }],
    usage,
  };
}
