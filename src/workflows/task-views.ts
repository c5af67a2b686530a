import { creditsToJson } from '../lib/money.js';
import { unixSeconds } from '../lib/time.js';
import { videoDimensions } from '../lib/video-size.js';
import type { MediaService } from '../modules/media/service.js';
import { FACES, type TaskRow } from '../modules/tasks/types.js';
import { taskErrorMessage } from './task-errors.js';

/**
 * Task shapes per face (API.md §3, §5, §6). Used by the routes and by the webhook sender (a callback receives the
 * task in the face that created it, H5). Result URLs are signed genrelay links, never upstream URLs.
 */
export type PublicStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export function publicStatus(task: TaskRow): PublicStatus {
  if (task.status === 'dispatching' || task.status === 'submitted') return 'queued';
  return task.status;
}

function assets(task: TaskRow, media: MediaService) {
  return (task.result?.files ?? []).map((file) => {
    const link = media.signedUrl(file.id);
    return {
      url: link.url,
      content_type: file.content_type,
      width: file.width,
      height: file.height,
      duration_seconds: file.duration_seconds,
      expires_at: link.expiresAt,
    };
  });
}

function errorOf(task: TaskRow) {
  return task.error_code ? { code: task.error_code, message: taskErrorMessage(task.error_code) } : null;
}

function requestView(task: TaskRow) {
  const { references, extra, response_format: _format, ...rest } = task.request;
  return {
    ...rest,
    ...(extra ?? {}),
    references: (references ?? []).map((reference) => ({
      type: reference.type,
      role: reference.role,
      ...(reference.url ? { url: reference.url } : { file_id: reference.file_id }),
      ...(reference.strength ? { strength: reference.strength } : {}),
    })),
  };
}

export function nativeTaskView(task: TaskRow, media: MediaService) {
  const files = assets(task, media);
  return {
    id: task.id,
    object: 'task',
    type: task.type,
    model: task.model,
    status: publicStatus(task),
    progress: task.status === 'succeeded' ? 100 : task.progress,
    created_at: unixSeconds(task.created_at),
    updated_at: unixSeconds(task.updated_at),
    completed_at: unixSeconds(task.completed_at),
    request: requestView(task),
    result: task.status === 'succeeded' && files.length > 0 ? { url: files[0]!.url, assets: files } : null,
    error: errorOf(task),
    credits: { reserved: creditsToJson(task.hold_amount), charged: creditsToJson(task.charged) },
    // The catalogue price version the task was reserved and is charged under (SEMANTICS M9).
    price_version: task.price_version,
    callback_url: task.callback_url,
    metadata: task.metadata ?? {},
    mode: task.mode,
  };
}

const OPENAI_STATUS: Record<PublicStatus, string> = {
  queued: 'queued', running: 'in_progress', succeeded: 'completed', failed: 'failed', cancelled: 'failed', expired: 'failed',
};

/**
 * OpenAI Video object fields on top of the task (API.md §4 `POST /v1/videos`). Added to the native view's own fresh
 * object (same keys in the same order as a spread): spreading its 17 keys into a new literal with five more cost
 * V8 about 11 µs per view, assigning them 0.4 (docs/PERFORMANCE.md).
 */
export function openAiVideoView(task: TaskRow, media: MediaService) {
  const native = nativeTaskView(task, media);
  const [width, height] = videoDimensions(task.request.ratio ?? '16:9', task.request.resolution ?? '720p');
  const openAi = {
    object: 'video',
    task_id: task.id,
    status: OPENAI_STATUS[native.status],
    seconds: String(task.request.seconds ?? ''),
    size: task.request.size ?? `${width}x${height}`,
    expires_at: native.result?.assets[0]?.expires_at ?? null,
    remixed_from_video_id: null,
  };
  return Object.assign(native as Omit<typeof native, keyof typeof openAi>, openAi);
}

const JOB_STATUS: Record<PublicStatus, string> = {
  queued: 'processing', running: 'processing', succeeded: 'completed', failed: 'failed', cancelled: 'cancelled', expired: 'failed',
};

export function jobId(taskId: string): string {
  return `job_${taskId.slice('task_'.length)}`;
}

/** `job_…` and `task_…` name the same object (API.md §5). */
export function taskIdFromJobId(id: string): string {
  return id.startsWith('job_') ? `task_${id.slice(4)}` : id;
}

export function jobView(task: TaskRow) {
  const status = publicStatus(task);
  const charged = status === 'succeeded' ? task.charged : ['failed', 'cancelled', 'expired'].includes(status) ? 0n : task.hold_amount;
  return {
    ok: true,
    jobId: jobId(task.id),
    status: JOB_STATUS[status],
    type: task.type,
    chargedCredits: creditsToJson(charged),
    createdAt: task.created_at.toISOString(),
    updatedAt: task.updated_at.toISOString(),
    ...(task.error_code ? { error: errorOf(task) } : {}),
  };
}

const NEWAPI_STATUS: Record<PublicStatus, string> = {
  queued: 'submitted', running: 'running', succeeded: 'succeeded', failed: 'failed', cancelled: 'failed', expired: 'failed',
};

export function newApiView(task: TaskRow, media: MediaService) {
  const files = task.status === 'succeeded' ? assets(task, media) : [];
  return {
    task_id: task.id,
    status: NEWAPI_STATUS[publicStatus(task)],
    url: files[0]?.url ?? '',
    format: 'mp4',
    metadata: task.metadata ?? {},
    progress: task.status === 'succeeded' ? 100 : task.progress,
    ...(task.error_code ? { error: errorOf(task) } : {}),
  };
}

/** The body a task's callback_url receives: the task in the face that created it (H5). */
export function callbackBody(task: TaskRow, media: MediaService): unknown {
  switch (task.face) {
    case FACES.openai:
      return openAiVideoView(task, media);
    case 'jobs':
      return { ...jobView(task), ...(task.status === 'succeeded' ? { urls: assets(task, media).map((asset) => asset.url) } : {}) };
    case FACES.newapi:
      return newApiView(task, media);
    default:
      return nativeTaskView(task, media);
  }
}
