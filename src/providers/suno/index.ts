import type {
  GenerationRequest,
  JsonValue,
  ProviderAdapter,
  ProviderContext,
  ProviderError,
  StartResult,
  StatusResult,
} from '../spec.js';
import { UpstreamNetworkError, upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { withSafeMessages } from '../shared/safe-messages.js';
import { missingChannel, submitCreate } from '../shared/start.js';
import { taskNotFound } from '../shared/task-not-found.js';
import { decodeCallback, decodeRecordInfo, envelopeData } from './suno-decode.js';
import { classifyResponse, isRecordMissing } from './suno-errors.js';
import { buildGenerateBody, endpoint, readSettings, type SunoSettings } from './suno-request.js';
import { readRecord, statusRank } from './suno-status.js';

/**
 * Suno music through the sunoapi.org / kie.ai contract (PROVIDERS §6): `POST {base}/generate`, then
 * `GET {base}/generate/record-info?taskId=…`, with staged callbacks as hints. No cancel endpoint exists, creates
 * are not idempotent (§0.4), and a generation yields (normally) two tracks. Settings: see `suno-request.ts`.
 */

/** What the engine stores per task: the upstream id plus what keeps status monotonic. No key, no host. */
interface SunoOperation {
  v: 1;
  providerTaskId: string;
  model: string;
  /** Engine-clock time of acceptance (ms), for operators (the engine's not-found grace counts from the task). */
  acceptedAt: number;
  /** Highest non-terminal status reported so far: a later `PENDING` after `TEXT_SUCCESS` is ignored (§0.2). */
  seen: 'queued' | 'running';
  progress: number;
}

function readOperation(raw: JsonValue): SunoOperation {
  const value = raw as Partial<SunoOperation> | null;
  if (!value || typeof value !== 'object' || typeof value.providerTaskId !== 'string') {
    throw new Error('suno: malformed operation');
  }
  return {
    v: 1,
    providerTaskId: value.providerTaskId,
    model: typeof value.model === 'string' ? value.model : '',
    acceptedAt: typeof value.acceptedAt === 'number' ? value.acceptedAt : 0,
    seen: value.seen === 'running' ? 'running' : 'queued',
    progress: typeof value.progress === 'number' ? value.progress : 0,
  };
}

function headers(context: ProviderContext, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${context.credential ?? ''}`, accept: 'application/json', ...extra };
}

function networkError(operation: string, error: UpstreamNetworkError): ProviderError {
  return { class: 'network', message: `suno ${operation}: ${error.timedOut ? 'timeout' : 'network error'}: ${error.message}` };
}

export function createSunoAdapter(settings: Record<string, unknown>): ProviderAdapter {
  const config = (context: ProviderContext): SunoSettings => readSettings(settings, context.settings);

  /** A read that told us nothing new: keep the last reported status; the error is for operators. */
  function unchanged(operation: SunoOperation, error: ProviderError): StatusResult {
    return { status: operation.seen, progress: operation.progress, error };
  }

  /** Applies the never-backwards rule and returns the replacement operation when the non-terminal level rose. */
  function monotonic(operation: SunoOperation, result: StatusResult): StatusResult {
    if (statusRank(result.status) >= 2) return result;
    if (statusRank(result.status) < statusRank(operation.seen)) return { ...result, status: operation.seen, progress: operation.progress };
    const progress = Math.max(operation.progress, result.progress ?? 0);
    const seen = result.status as 'queued' | 'running';
    if (seen === operation.seen && progress === operation.progress) return { ...result, progress };
    return { ...result, progress, operation: { ...operation, seen, progress } as unknown as JsonValue };
  }

  return withSafeMessages({
    id: 'suno',
    capabilities: { kinds: ['music'], callbacks: true, cancel: false, idempotentCreates: false },

    async start(request: GenerationRequest, context: ProviderContext): Promise<StartResult> {
      const settingsNow = config(context);
      const missing = missingChannel(context, 'suno', { baseUrl: true });
      if (missing) return { outcome: 'rejected', error: missing };
      const baseUrl = context.baseUrl!;
      const built = buildGenerateBody(request, context, settingsNow);
      if (!built.ok) return { outcome: 'rejected', error: built.error };
      const answer = await submitCreate({
        label: 'suno create',
        send: () =>
          upstreamRequest({
            method: 'POST',
            url: endpoint(baseUrl, '/generate'),
            headers: headers(context, { 'content-type': 'application/json', 'idempotency-key': request.taskId }),
            body: JSON.stringify(built.body),
            timeoutMs: settingsNow.timeoutMs,
            ...(context.signal ? { signal: context.signal } : {}),
          }),
        // Errors arrive inside HTTP 200 envelopes (quirk 6): the body code decides, like a status.
        readError: (response) => {
          const failure = classifyResponse(response, 'create');
          return failure ? { error: failure.error, status: failure.code } : null;
        },
        // A success envelope without a task id may still have created a task: unknown, never success.
        accept: (response) => {
          const data = envelopeData(response.json) as { taskId?: unknown } | null | undefined;
          return typeof data?.taskId === 'string' && data.taskId ? data.taskId : null;
        },
      });
      if (!answer.ok) return answer.failure;
      const providerTaskId = answer.value;
      const operation: SunoOperation = {
        v: 1,
        providerTaskId,
        model: context.upstreamModel,
        acceptedAt: context.clock.now().getTime(),
        seen: 'queued',
        progress: 0,
      };
      return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId };
    },

    async status(raw: JsonValue, context: ProviderContext): Promise<StatusResult> {
      const operation = readOperation(raw);
      const settingsNow = config(context);
      if (!context.baseUrl) return unchanged(operation, { class: 'invalid_request', message: 'suno: channel has no base URL' });
      let response: UpstreamResponse;
      try {
        response = await upstreamRequest({
          method: 'GET',
          url: `${endpoint(context.baseUrl, '/generate/record-info')}?taskId=${encodeURIComponent(operation.providerTaskId)}`,
          headers: headers(context),
          timeoutMs: settingsNow.timeoutMs,
          ...(context.signal ? { signal: context.signal } : {}),
        });
      } catch (error) {
        if (!(error instanceof UpstreamNetworkError)) throw error;
        return unchanged(operation, networkError('query', error));
      }
      const failure = classifyResponse(response, 'query');
      // The upstream does not know the task: the one "task not found" answer of every adapter. The engine owns the
      // grace (kie does not know a task for a moment after creating it) and the outcome (shared/task-not-found.ts).
      if (failure && isRecordMissing(failure, response)) return taskNotFound(failure.error.message);
      if (failure) return unchanged(operation, failure.error);
      const record = decodeRecordInfo(envelopeData(response.json));
      if (!record) return unchanged(operation, { class: 'upstream_error', message: 'suno query: unreadable record-info data' });
      if (record.taskId !== operation.providerTaskId) {
        return unchanged(operation, { class: 'upstream_error', message: 'suno query: record-info answered another task' });
      }
      const reading = readRecord(record, { callbackExceptionIsSuccess: settingsNow.callbackExceptionIsSuccess });
      const result = monotonic(operation, reading.result);
      if (reading.unknownStatus !== undefined && !result.error) {
        // No logger reaches adapters: the operator sees `unknown_status` on the status error detail.
        result.error = { class: 'upstream_error', message: `suno unknown_status: ${reading.unknownStatus.slice(0, 40)}` };
      }
      return result;
    },

    parseCallback(body: unknown): { providerTaskId: string } | null {
      // A hint only (SEMANTICS T7): the engine re-reads record-info, so text/first/complete/error and duplicates
      // all just name the task. Authenticity rests on the per-task callback URL the engine hands out.
      const callback = decodeCallback(body);
      return callback ? { providerTaskId: callback.taskId } : null;
    },
  });
}
