import type { GenerationRequest, ProviderContext, ProviderError, StartResult, StatusResult } from '../spec.js';
import { UpstreamNetworkError } from '../shared/http.js';
import { taskNotFound } from '../shared/task-not-found.js';
import type { XaiVideoCreateResponse, XaiVideoRequestBody, XaiVideoStatusResponse } from './xai-api-types.js';
import { VIDEO_RESOLUTIONS } from './xai-api-types.js';
import { getJson, isTarget, postJson, referenceUrl, targetOf } from './xai-client.js';
import { submitCreate } from '../shared/start.js';
import { classifyHttpError, createError } from './xai-errors.js';
import { fromFinal, toJson, type XaiVideoOperation } from './xai-operation.js';
import type { XaiSettings } from './xai-settings.js';
import { mapVideoStatus, progressed } from './xai-video-status.js';

/**
 * Grok Imagine video (PROVIDERS §3.2): create, then poll; no callbacks, no cancel. Modes, chosen from the
 * references: text-to-video; a `first_frame` image (`image`, becomes the first frame); `reference_image`s
 * (`reference_images`, ≤ 7, clips ≤ 10 s, not with `image`); a `reference_video` → `/videos/edits` (the output
 * keeps the source's length, so no duration/ratio/resolution are sent). xAI has no last frame, seed or fps: a last
 * frame is refused, a seed is ignored. Duration and resolution are always sent explicitly so the facts billed match
 * what xAI produced. Extensions (`/videos/extensions`) have no canonical request yet and are not offered.
 */
interface VideoPlan {
  path: '/videos/generations' | '/videos/edits';
  body: XaiVideoRequestBody;
  mode: XaiVideoOperation['mode'];
  seconds?: number;
  resolution?: string;
}

function invalid(message: string): ProviderError {
  return { class: 'invalid_request', message: `xai video: ${message}` };
}

const FIRST_FRAME_ROLES = new Set(['first_frame', 'image']);
const REFERENCE_IMAGE_ROLES = new Set(['reference_image', 'reference']);
const SOURCE_VIDEO_ROLES = new Set(['reference_video', 'source_video', 'video']);

export function planVideo(request: GenerationRequest, context: ProviderContext, settings: XaiSettings): VideoPlan | ProviderError {
  if (!request.prompt.trim()) return invalid('prompt is empty');
  if (request.prompt.length > settings.maxPromptChars) return invalid(`prompt longer than ${settings.maxPromptChars} characters`);
  let firstFrame: string | undefined;
  const referenceImages: string[] = [];
  let sourceVideo: string | undefined;
  for (const reference of request.references) {
    if (reference.type === 'image' && FIRST_FRAME_ROLES.has(reference.role)) {
      if (firstFrame !== undefined) return invalid('only one first frame');
      firstFrame = referenceUrl(reference);
    } else if (reference.type === 'image' && REFERENCE_IMAGE_ROLES.has(reference.role)) referenceImages.push(referenceUrl(reference));
    else if (reference.type === 'video' && SOURCE_VIDEO_ROLES.has(reference.role)) {
      if (sourceVideo !== undefined) return invalid('only one source video');
      // Video edits need a URL xAI can fetch; a base64 video is not accepted (and would be huge).
      if (!reference.url) return invalid('a source video needs a URL xAI can fetch');
      sourceVideo = reference.url;
    } else return invalid(`unsupported reference ${reference.type}/${reference.role}`);
  }
  if (sourceVideo !== undefined) {
    if (firstFrame !== undefined || referenceImages.length > 0) return invalid('a video edit takes no image references');
    return { path: '/videos/edits', body: { model: context.upstreamModel, prompt: request.prompt, video: { url: sourceVideo } }, mode: 'edit' };
  }
  if (firstFrame !== undefined && referenceImages.length > 0) return invalid('a first frame and reference images are exclusive');
  if (referenceImages.length > settings.maxReferenceImages) return invalid(`at most ${settings.maxReferenceImages} reference images`);
  const seconds = request.seconds ?? settings.defaultVideoSeconds;
  const maxSeconds = referenceImages.length > 0 ? Math.min(settings.maxVideoSeconds, settings.maxReferenceVideoSeconds) : settings.maxVideoSeconds;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > maxSeconds) return invalid(`duration must be a whole number of seconds 1–${maxSeconds}`);
  const resolution = (request.resolution ?? settings.defaultVideoResolution).toLowerCase();
  if (!VIDEO_RESOLUTIONS.includes(resolution)) return invalid(`resolution must be one of ${VIDEO_RESOLUTIONS.join(', ')}`);
  if (request.ratio !== undefined && !settings.videoAspectRatios.includes(request.ratio)) return invalid(`aspect ratio ${request.ratio} is not supported`);
  const body: XaiVideoRequestBody = {
    model: context.upstreamModel,
    prompt: request.prompt,
    duration: seconds,
    resolution,
    ...(request.ratio !== undefined ? { aspect_ratio: request.ratio } : {}),
    ...(firstFrame !== undefined ? { image: { url: firstFrame } } : {}),
    ...(referenceImages.length > 0 ? { reference_images: referenceImages.map((url) => ({ url })) } : {}),
  };
  return { path: '/videos/generations', body, mode: 'generate', seconds, resolution };
}

export async function startVideo(request: GenerationRequest, context: ProviderContext, settings: XaiSettings): Promise<StartResult> {
  const target = targetOf(context, settings.timeoutMs);
  if (!isTarget(target)) return { outcome: 'rejected', error: target };
  const plan = planVideo(request, context, settings);
  if (!('path' in plan)) return { outcome: 'rejected', error: plan };
  const answer = await submitCreate({
    label: 'xai video create',
    send: () => postJson(target, plan.path, plan.body, request.taskId),
    readError: (response) => createError(response, 'video create'),
    // An empty 200 may still have created a billable job (quirk 10): unknown, never success.
    accept: (response) => {
      const requestId = (response.json as XaiVideoCreateResponse | undefined)?.request_id;
      return typeof requestId === 'string' && requestId ? requestId : null;
    },
  });
  if (!answer.ok) return answer.failure;
  const requestId = answer.value;
  const operation: XaiVideoOperation = {
    v: 1,
    kind: 'video',
    requestId,
    mode: plan.mode,
    ...(plan.seconds !== undefined ? { seconds: plan.seconds } : {}),
    ...(plan.resolution !== undefined ? { resolution: plan.resolution } : {}),
  };
  return { outcome: 'accepted', operation: toJson(operation), providerTaskId: requestId };
}

/**
 * One poll. A failed read (network, 5xx, 429, a rotated key) is not a task failure: it reports the last known
 * non-terminal status with the error attached, and the engine polls again. A 404 means xAI does not know the
 * request (purged, never existed, another team): the one "task not found" answer of every adapter, never stored in
 * `final` (the engine's grace may read it again and find it).
 */
export async function videoStatus(operation: XaiVideoOperation, context: ProviderContext, settings: XaiSettings): Promise<StatusResult> {
  if (operation.final) return fromFinal(operation.final);
  const lastKnown = (error: ProviderError) => progressed(operation, operation.seen?.status ?? 'queued', operation.seen?.progress ?? 0, { error });
  const target = targetOf(context, settings.timeoutMs);
  if (!isTarget(target)) return lastKnown(target);
  let response;
  try {
    response = await getJson(target, `/videos/${encodeURIComponent(operation.requestId)}`);
  } catch (error) {
    const network = error instanceof UpstreamNetworkError ? error.message : String(error);
    return lastKnown({ class: 'network', message: `xai video poll: ${network}` });
  }
  if (response.status === 404) return taskNotFound(classifyHttpError(response, 'video poll').message);
  if (response.status < 200 || response.status >= 300) return lastKnown(classifyHttpError(response, 'video poll'));
  // A 202 or an empty 200 while the job is pending carries no status: nothing changed.
  if (!response.json || typeof response.json !== 'object') return progressed(operation, operation.seen?.status ?? 'queued', operation.seen?.progress ?? 0);
  return mapVideoStatus(response.json as XaiVideoStatusResponse, operation, settings.onUnknownStatus);
}
