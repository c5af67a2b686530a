import type { GenerationRequest, JsonValue, ProviderContext, StartResult, StatusResult, UsageFacts } from '../spec.js';
import { UpstreamNetworkError, upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { videoDimensions } from '../../lib/video-size.js';
import { missingChannel, submitCreate } from '../shared/start.js';
import { forward } from '../shared/status-table.js';
import { taskNotFound } from '../shared/task-not-found.js';
import type { DashscopeEnvelope, DashscopeOperation, VideoMode } from './dashscope-api-types.js';
import { answerError, classifyCode, createError, DashscopeReadError, operatorMessage } from './dashscope-errors.js';
import { buildRequest } from './dashscope-request.js';
import { baseUrlOf, type DashscopeSettings } from './dashscope-settings.js';
import { positiveNumber, resolutionFromSr, upstreamState } from './dashscope-status.js';

/**
 * HappyHorse video on DashScope (PROVIDERS §5): async create with `X-DashScope-Async: enable`, then polling of
 * `GET /tasks/{id}`; no callbacks. Cancel exists (†) only while the task is PENDING.
 */
const CREATE_PATH = '/services/aigc/video-generation/video-synthesis';

/** §12 facts plus the DashScope-specific ones (`video_count`, `video_mode`) that spec.ts has no field for yet. */
export interface DashscopeUsageFacts extends UsageFacts {
  video_count?: number;
  video_mode?: VideoMode;
}

function authHeaders(context: ProviderContext): Record<string, string> {
  return { authorization: `Bearer ${context.credential ?? ''}` };
}

export async function startVideo(request: GenerationRequest, context: ProviderContext, settings: DashscopeSettings): Promise<StartResult> {
  const missing = missingChannel(context, 'dashscope', { baseUrl: false });
  if (missing) return { outcome: 'rejected', error: missing };
  const built = buildRequest(request, context.upstreamModel, settings);
  if ('invalid' in built) return { outcome: 'rejected', error: { class: 'invalid_request', message: `dashscope: ${built.invalid}` } };

  const answer = await submitCreate({
    label: 'dashscope create',
    send: () =>
      upstreamRequest({
        method: 'POST',
        url: `${baseUrlOf(context.baseUrl, settings)}${CREATE_PATH}`,
        headers: {
          ...authHeaders(context),
          'content-type': 'application/json',
          // Without it DashScope answers 403 "does not support synchronous calls" (§11.3).
          'x-dashscope-async': 'enable',
          // Not honoured upstream (§0.4), but it lets the mocks count creates per gateway task.
          'idempotency-key': request.taskId,
        },
        body: JSON.stringify(built.body),
        timeoutMs: settings.timeoutMs,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    readError: createError,
    // Empty or unreadable 200: the task may well exist upstream (quirk 10), so this is never a success.
    accept: (response) => {
      const taskId = (response.json as DashscopeEnvelope | undefined)?.output?.task_id;
      return typeof taskId === 'string' && taskId !== '' ? taskId : null;
    },
  });
  if (!answer.ok) return answer.failure;
  const taskId = answer.value;
  const operation: DashscopeOperation = {
    v: 1,
    id: taskId,
    model: context.upstreamModel,
    mode: built.mode,
    seconds: built.seconds,
    resolution: built.resolution,
    ...(built.ratio !== undefined ? { ratio: built.ratio } : {}),
    acceptedAt: context.clock.now().getTime(),
    seen: false,
    last: 'queued',
  };
  return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: taskId };
}

function readOperation(raw: JsonValue): DashscopeOperation {
  const operation = raw as unknown as DashscopeOperation;
  if (!operation || typeof operation !== 'object' || typeof operation.id !== 'string') throw new Error('dashscope: malformed operation');
  return operation;
}

async function query(operation: DashscopeOperation, context: ProviderContext, settings: DashscopeSettings): Promise<UpstreamResponse> {
  try {
    return await upstreamRequest({
      method: 'GET',
      url: `${baseUrlOf(context.baseUrl, settings)}/tasks/${encodeURIComponent(operation.id)}`,
      headers: authHeaders(context),
      timeoutMs: settings.timeoutMs,
      ...(context.signal ? { signal: context.signal } : {}),
    });
  } catch (error) {
    if (error instanceof UpstreamNetworkError) throw new DashscopeReadError({ class: 'network', message: `dashscope network: ${error.message}` });
    throw error;
  }
}

function usageOf(operation: DashscopeOperation, body: DashscopeEnvelope, billable: boolean): DashscopeUsageFacts {
  return {
    video_seconds: positiveNumber(body.usage?.video_duration) ?? operation.seconds,
    video_resolution: resolutionFromSr(body.usage?.SR) ?? operation.resolution,
    video_count: positiveNumber(body.usage?.video_count) ?? 1,
    video_mode: operation.mode,
    billable,
  };
}

function succeeded(operation: DashscopeOperation, body: DashscopeEnvelope): StatusResult {
  const url = body.output?.video_url;
  if (typeof url !== 'string' || url === '') {
    return { status: 'failed', usage: { billable: false }, error: { class: 'upstream_error', message: 'dashscope: SUCCEEDED without video_url' } };
  }
  const usage = usageOf(operation, body, true);
  const [width, height] = operation.ratio ? videoDimensions(operation.ratio, usage.video_resolution ?? operation.resolution) : [];
  return {
    status: 'succeeded',
    progress: 100,
    outputs: [{ url, contentType: 'video/mp4', ...(usage.video_seconds ? { durationSeconds: usage.video_seconds } : {}), ...(width && height ? { width, height } : {}) }],
    usage,
  };
}

export async function videoStatus(raw: JsonValue, context: ProviderContext, settings: DashscopeSettings): Promise<StatusResult> {
  const operation = readOperation(raw);
  const response = await query(operation, context, settings);
  const body = (response.json ?? {}) as DashscopeEnvelope;
  // A 404 without a better answer is the same fact as task_status UNKNOWN: the upstream does not know the task.
  const missing = response.status === 404 && (body.code === undefined || /notfound|not_found/i.test(body.code));
  const error = missing ? undefined : answerError(response, 'submit');
  if (error) throw new DashscopeReadError(error);
  if (!missing && !body.output) throw new DashscopeReadError({ class: 'network', message: 'dashscope: empty task answer' });

  const state = missing ? 'unknown_task' : upstreamState(body.output?.task_status);
  switch (state) {
    case 'unknown_task':
      // "Task missing or purged" (§5), whether or not a read ever saw it: the one not-found answer of every adapter
      // (shared/task-not-found.ts). The engine owns the grace for replication lag after the create, and the outcome.
      return taskNotFound(missing ? `dashscope: task ${operation.id} not found (HTTP 404${body.code ? ` ${body.code}` : ''})` : `dashscope: task ${operation.id} is UNKNOWN upstream`);
    case 'queued':
    case 'running':
    case 'unrecognised': {
      // Unrecognised spellings count as running (PROVIDERS §0.2). No logger reaches adapters, so the raw spelling is
      // kept on the operation (`unknownStatus`) where operators see it on the task record.
      const next = forward(operation.last, state === 'queued' ? 'queued' : 'running');
      const unknownStatus = state === 'unrecognised' ? String(body.output?.task_status).slice(0, 40) : operation.unknownStatus;
      const updated: DashscopeOperation = { ...operation, seen: true, last: next, ...(unknownStatus ? { unknownStatus } : {}) };
      const changed = !operation.seen || operation.last !== next || operation.unknownStatus !== unknownStatus;
      return { status: next, ...(next === 'queued' ? { progress: 0 } : {}), ...(changed ? { operation: updated as unknown as JsonValue } : {}) };
    }
    case 'succeeded':
      return succeeded(operation, body);
    case 'failed': {
      const code = body.output?.code;
      return {
        status: 'failed',
        usage: { billable: false },
        error: { class: code ? classifyCode(code, 200, 'task') : 'upstream_error', message: operatorMessage(code, body.output?.message, 'task FAILED') },
      };
    }
    case 'cancelled':
    case 'expired':
      return { status: state, usage: { billable: false } };
  }
}

/** Upstream cancel (†): only a PENDING task can be cancelled; `cancelled` only when DashScope confirms. */
export async function cancelVideo(raw: JsonValue, context: ProviderContext, settings: DashscopeSettings): Promise<{ cancelled: boolean }> {
  const operation = readOperation(raw);
  try {
    const response = await upstreamRequest({
      method: 'POST',
      url: `${baseUrlOf(context.baseUrl, settings)}/tasks/${encodeURIComponent(operation.id)}/cancel`,
      headers: authHeaders(context),
      timeoutMs: settings.timeoutMs,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    return { cancelled: answerError(response, 'submit') === undefined };
  } catch (error) {
    if (error instanceof UpstreamNetworkError) return { cancelled: false };
    throw error;
  }
}
