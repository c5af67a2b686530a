import { upstreamRequest, UpstreamNetworkError, type UpstreamResponse } from '../shared/http.js';
import { taskNotFound } from '../shared/task-not-found.js';
import type {
  GenerationRequest,
  JsonValue,
  ProviderContext,
  ProviderError,
  ProviderOutput,
  StartResult,
  StatusResult,
  UsageFacts,
} from '../spec.js';
import type { NewapiOperation, NewapiSettings, Snapshot } from './newapi-api-types.js';
import { missingChannel, submitCreate } from '../shared/start.js';
import { isTerminal, readStatus } from '../shared/status-table.js';
import { bodyCode, createError, describeError, isTaskMissing, moderationClass, NewapiReadError, readError } from './newapi-errors.js';
import { buildCreate } from './newapi-request.js';
import { createdId, queryPath, snapshotOf } from './newapi-response.js';
import { NEWAPI_STATUSES, rankOf } from './newapi-status.js';

/**
 * Video create and query against a reseller (PROVIDERS §8): async, poll plus an optional final-state callback.
 * Creates are not idempotent upstream (§0.4), so every ambiguous answer is an `unknown` outcome, never a retry here.
 */
function url(context: ProviderContext, path: string): string {
  return `${(context.baseUrl ?? '').replace(/\/+$/, '')}${path}`;
}

function headers(context: ProviderContext, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${context.credential ?? ''}`, accept: 'application/json', ...extra };
}

/** A channel without a key or base URL cannot work at all: `auth` makes the router disable it and fail over. */
function channelProblem(context: ProviderContext): ProviderError | null {
  return missingChannel(context, 'newapi', { baseUrl: true });
}

export async function startVideo(request: GenerationRequest, context: ProviderContext, settings: NewapiSettings): Promise<StartResult> {
  const problem = channelProblem(context);
  if (problem) return { outcome: 'rejected', error: problem };
  const call = buildCreate(request, context, settings);
  if ('class' in call) return { outcome: 'rejected', error: call };
  const answer = await submitCreate({
    label: 'newapi create',
    send: () =>
      upstreamRequest({
        method: 'POST',
        url: url(context, call.path),
        // No upstream documents Idempotency-Key; it is sent anyway so mocks and logs can tie creates to our task (§0.4).
        headers: headers(context, { 'content-type': 'application/json', 'idempotency-key': request.taskId }),
        body: JSON.stringify(call.body),
        timeoutMs: settings.timeoutMs,
        ...(context.signal ? { signal: context.signal } : {}),
      }),
    readError: (response) =>
      response.status < 200 || response.status >= 300 || bodyCode(response.json) !== undefined
        ? createError(response.status, response.headers, response.json, response.text)
        : null,
    // §10 #10: an empty 200, or one without a task id, is never a success; the task may exist upstream.
    accept: (response) => createdId(response.json) ?? null,
  });
  if (!answer.ok) return answer.failure;
  const id = answer.value;
  const operation: NewapiOperation = {
    v: 1,
    dialect: settings.dialect,
    id,
    ...(call.seconds !== undefined ? { seconds: call.seconds } : {}),
    ...(call.resolution !== undefined ? { resolution: call.resolution } : {}),
  };
  return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: id };
}

function readOperation(raw: JsonValue): NewapiOperation {
  const operation = raw as unknown as NewapiOperation;
  if (!operation || typeof operation !== 'object' || operation.v !== 1 || typeof operation.id !== 'string') {
    throw new Error('newapi: not a newapi operation');
  }
  return operation;
}

async function get(context: ProviderContext, path: string, timeoutMs: number): Promise<UpstreamResponse> {
  try {
    return await upstreamRequest({ method: 'GET', url: url(context, path), headers: headers(context), timeoutMs, ...(context.signal ? { signal: context.signal } : {}) });
  } catch (error) {
    if (!(error instanceof UpstreamNetworkError)) throw error;
    throw new NewapiReadError('network', `newapi query: ${error.message}`);
  }
}

export async function videoStatus(raw: JsonValue, context: ProviderContext, settings: NewapiSettings): Promise<StatusResult> {
  const operation = readOperation(raw);
  const problem = channelProblem(context);
  if (problem) throw new NewapiReadError(problem.class, problem.message);
  const response = await get(context, queryPath(operation.dialect, operation.id), settings.timeoutMs);
  const status = response.status >= 200 && response.status < 300 ? (bodyCode(response.json) ?? response.status) : response.status;
  if (isTaskMissing(status, response.json, response.text)) {
    // The reseller does not know the task (purged, lost, never created): the one "task not found" answer of every
    // adapter (shared/task-not-found.ts); the engine owns the grace and the outcome.
    return taskNotFound(`newapi query: task ${operation.id} not found (HTTP ${response.status}): ${describeError(response.json, response.text).code || 'no code'}`);
  }
  if (status < 200 || status >= 300) throw readError(status, response.json, response.text);
  const snapshot = snapshotOf(operation.dialect, response.json);
  if (!snapshot) throw new NewapiReadError('upstream_error', `newapi query: unreadable body: ${response.text.slice(0, 200)}`);
  return interpret(operation, snapshot, context, settings);
}

/** §12: resellers return no reliable usage, so the requested facts win and the echo only fills gaps. */
function usage(operation: NewapiOperation, snapshot: Snapshot | undefined, settings: NewapiSettings, billable: boolean): UsageFacts {
  return {
    video_seconds: operation.seconds ?? snapshot?.seconds ?? settings.defaultSeconds,
    video_resolution: operation.resolution ?? snapshot?.resolution ?? settings.defaultResolution,
    billable,
  };
}

function isOwnApi(link: string, context: ProviderContext): boolean {
  try {
    const base = new URL(url(context, '/'));
    const target = new URL(link, base);
    return target.origin === base.origin && target.pathname.includes('/videos/');
  } catch {
    return false;
  }
}

const FORMATS: Record<string, string> = { mp4: 'video/mp4', webm: 'video/webm', mov: 'video/quicktime' };

async function interpret(operation: NewapiOperation, snapshot: Snapshot, context: ProviderContext, settings: NewapiSettings): Promise<StatusResult> {
  const { status, known } = readStatus(NEWAPI_STATUSES, snapshot.rawStatus);
  if (!isTerminal(status)) {
    // Never backwards (§0.2): a `queued` after `running` (another reseller node, a stale cache) stays `running`.
    const seen = Math.max(rankOf(status), operation.seen ?? 0);
    const next: NewapiOperation = { ...operation, seen, ...(known ? {} : { unknownStatus: snapshot.rawStatus }) };
    const changed = next.seen !== operation.seen || next.unknownStatus !== operation.unknownStatus;
    const progress = seen === 0 ? 0 : Math.min(99, snapshot.progress ?? 0);
    return { status: seen === 0 ? 'queued' : 'running', progress, ...(changed ? { operation: next as unknown as JsonValue } : {}) };
  }
  if (status === 'succeeded') {
    const outputs = await outputsOf(operation, snapshot, context, settings);
    if (!outputs) {
      const message = `newapi: task ${operation.id} succeeded without a result URL`;
      return { status: 'failed', error: { class: 'upstream_error', message }, usage: usage(operation, snapshot, settings, false) };
    }
    return { status: 'succeeded', progress: 100, outputs, usage: usage(operation, snapshot, settings, true) };
  }
  if (status === 'failed') return { status, error: failureOf(snapshot), usage: usage(operation, snapshot, settings, false) };
  return { status, usage: usage(operation, snapshot, settings, false) };
}

function failureOf(snapshot: Snapshot): ProviderError {
  const code = snapshot.errorCode ?? '';
  const text = snapshot.errorMessage ?? '';
  const message = `newapi task failed${code ? ` ${code}` : ''}: ${text || '(no message)'}`;
  // Moderation arrives as the reseller's pass-through code or message (§8), classified by substring.
  const moderation = moderationClass(code, text);
  if (moderation) return { class: moderation, message };
  if (/invalid[_ ]?param|InvalidParameter|invalid_request/i.test(`${code} ${text}`)) return { class: 'invalid_request', message };
  return { class: 'upstream_error', message };
}

async function outputsOf(operation: NewapiOperation, snapshot: Snapshot, context: ProviderContext, settings: NewapiSettings): Promise<ProviderOutput[] | undefined> {
  const duration = operation.seconds ?? snapshot.seconds;
  const extra = duration !== undefined ? { durationSeconds: duration } : {};
  const link = snapshot.url;
  // The engine downloads result URLs through its guard, without our key; a link back into the reseller's own API
  // (openai-videos `/content`) needs the key, so the adapter fetches those bytes itself.
  if (link && !(operation.dialect === 'openai-videos' && isOwnApi(link, context))) {
    return [{ url: link, contentType: FORMATS[snapshot.format ?? 'mp4'] ?? 'video/mp4', ...extra }];
  }
  if (operation.dialect !== 'openai-videos') return undefined;
  // §10 #15: OpenAI-style video objects carry no URL; the file is a binary download while it lasts.
  const response = await get(context, `/videos/${encodeURIComponent(operation.id)}/content`, settings.downloadTimeoutMs);
  if (response.status < 200 || response.status >= 300 || response.bytes.length === 0) {
    throw readError(response.status, response.json, response.text);
  }
  const declared = response.headers['content-type'];
  const contentType = (Array.isArray(declared) ? declared[0] : declared)?.split(';')[0]?.trim() || 'video/mp4';
  return [{ bytes: response.bytes, contentType, ...extra }];
}
