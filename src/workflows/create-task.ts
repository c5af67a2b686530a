import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { requireModel, type Principal } from '../modules/keys/authenticator.js';
import { atPercent, holdFor } from '../modules/catalog/pricing.js';
import type { CatalogModel } from '../modules/catalog/types.js';
import type { Face, StoredRequest, TaskRow } from '../modules/tasks/types.js';
import type { GenerationKind, JsonValue } from '../providers/spec.js';
import { prepareReferences, type RawReference, type ReferencesDeps } from './references.js';
import type { ReserveInput } from '../modules/wallet/types.js';

/**
 * Create a generation task (ARCHITECTURE "Flow of one video request", steps 3–4): resolve and check the model,
 * validate parameters and references against the catalog, price the hold, then one round trip (`gr_create_task`)
 * that claims the idempotency key, takes the concurrency slot, reserves credits and inserts the task.
 */
/** The services task creation needs. */
export type CreateTaskDeps = Pick<Deps, 'catalog' | 'clock' | 'config' | 'events' | 'ids' | 'router' | 'tasks' | 'wallet'> & ReferencesDeps;

/** The request parameters a face passes in: the stored request without its prompt and references. */
export type TaskParams = Omit<StoredRequest, 'prompt' | 'references'>;

export interface CreateTaskInput {
  principal: Principal;
  face: Face;
  kind: GenerationKind;
  model: string;
  prompt: string;
  params: TaskParams;
  references: RawReference[];
  callbackUrl: string | null;
  metadata: Record<string, JsonValue> | null;
  idempotencyKey: string | null;
  fingerprint: string | null;
}

export interface CreateTaskResult {
  task: TaskRow;
  outcome: 'created' | 'replay';
}

/** Queue budget and runtime caps per kind (SEMANTICS T9), in minutes: [queue budget, max runtime, hard cap]. */
const TIMING: Record<GenerationKind, [number, number, number]> = {
  video: [10, 30, 180],
  image: [5, 5, 60],
  music: [5, 10, 120],
};

function invalid(message: string, param: string): AppError {
  return new AppError('invalid_request', message, { param });
}

function oneOf(value: string | undefined, allowed: string[] | undefined, fallback: string | undefined, param: string): string | undefined {
  const chosen = value ?? fallback;
  if (chosen !== undefined && allowed && !allowed.includes(chosen)) {
    throw invalid(`${param} must be one of: ${allowed.join(', ')}`, param);
  }
  return chosen;
}

/** Applies the catalog's defaults and limits; the result is what the task stores and the hold is priced on. */
export function normalizeParams(model: CatalogModel, kind: GenerationKind, params: TaskParams): TaskParams {
  const capabilities = model.capabilities;
  if (kind === 'video') {
    const durations = capabilities.durations ?? { min: 1, max: 15, default: 5 };
    const seconds = params.seconds ?? durations.default;
    if (!Number.isInteger(seconds) || seconds < durations.min || seconds > durations.max) {
      throw invalid(`seconds must be an integer from ${durations.min} to ${durations.max} for ${model.id}`, 'seconds');
    }
    if (params.generate_audio && capabilities.generate_audio === false) {
      throw invalid(`${model.id} cannot generate audio`, 'generate_audio');
    }
    return {
      ...params,
      seconds,
      resolution: oneOf(params.resolution, capabilities.resolutions, capabilities.default_resolution, 'resolution'),
      ratio: oneOf(params.ratio, capabilities.ratios, capabilities.default_ratio, 'ratio'),
      generate_audio: params.generate_audio ?? capabilities.generate_audio ?? false,
    };
  }
  if (kind === 'image') {
    const n = params.n ?? 1;
    const max = capabilities.max_images ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > max) throw invalid(`n must be an integer from 1 to ${max} for ${model.id}`, 'n');
    return {
      ...params,
      n,
      size: oneOf(params.size, capabilities.sizes, capabilities.default_size, 'size'),
      quality: oneOf(params.quality, capabilities.qualities, capabilities.default_quality, 'quality'),
    };
  }
  if (params.instrumental && capabilities.instrumental === false) throw invalid(`${model.id} cannot make instrumentals`, 'instrumental');
  return params;
}

export async function resolveModel(deps: Pick<CreateTaskDeps, 'catalog'>, principal: Principal, modelId: string, kind: GenerationKind): Promise<CatalogModel> {
  const model = await deps.catalog.get(modelId);
  if (model.type !== kind) throw invalid(`The model "${modelId}" does not make ${kind}s`, 'model');
  requireModel(principal, model.id);
  return model;
}

export async function createTask(deps: CreateTaskDeps, input: CreateTaskInput): Promise<CreateTaskResult> {
  return createTaskOf(deps, await resolveModel(deps, input.principal, input.model, input.kind), input);
}

/** `createTask` for a model the caller has already resolved (resolveModel) for this principal and kind. */
export async function createTaskOf(deps: CreateTaskDeps, model: CatalogModel, input: CreateTaskInput): Promise<CreateTaskResult> {
  const { principal } = input;
  const prompt = input.prompt.trim();
  if (!prompt) throw invalid('prompt must not be empty', 'prompt');
  const maxPrompt = model.capabilities.max_prompt_length ?? 10_000;
  if (prompt.length > maxPrompt) throw invalid(`prompt may be at most ${maxPrompt} characters`, 'prompt');
  const params = normalizeParams(model, input.kind, input.params);
  if (input.callbackUrl) {
    try {
      deps.safeFetch.validateUrl(input.callbackUrl, 'webhook');
    } catch (error) {
      throw invalid(`callback_url is not allowed: ${(error as Error).message}`, 'callback_url');
    }
  }
  if (!(await deps.router.hasRoute(principal.mode, model, principal.group))) {
    throw new AppError('provider_capacity_unavailable', `No provider can serve ${model.id} right now`, { retryAfter: 30 });
  }
  await checkQueueDepth(deps, model);
  // M9, M10: the hold is priced at the version in force and the customer's group percent; both go on the task.
  const pricePercent = await deps.catalog.percentFor(principal.group);
  const cost = holdFor(atPercent(model, pricePercent), params);
  const prepared = await prepareReferences(deps, model, input.references, principal);
  const { extra, ...known } = params;
  const request: StoredRequest = { prompt, ...known, references: prepared.references, ...(extra ? { extra } : {}) };
  const now = deps.clock.now();
  const [queueMinutes, runtimeMinutes, hardCapMinutes] = TIMING[input.kind];
  const expiresAt = new Date(now.getTime() + (queueMinutes + 2 * runtimeMinutes) * 60_000);
  const hardDeadline = new Date(now.getTime() + hardCapMinutes * 60_000);
  const taskId = deps.ids('task');
  const reserveInput: ReserveInput = {
    taskId,
    reservationId: deps.ids('res'),
    customerId: principal.customerId,
    mode: principal.mode,
    apiKeyId: principal.keyId,
    maxConcurrency: principal.maxConcurrency,
    idempotencyKey: input.idempotencyKey,
    fingerprint: input.fingerprint,
    cost,
    now,
    expiresAt,
    hardDeadline,
    type: input.kind,
    model: model.id,
    request,
    face: input.face,
    callbackUrl: input.callbackUrl,
    metadata: input.metadata,
    priceVersion: model.price_version,
    pricePercent,
  };
  const reserved = await reserveWithHint(deps, reserveInput);
  if (reserved.outcome === 'conflict') {
    throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request', {
      param: 'Idempotency-Key',
    });
  }
  if (reserved.outcome === 'replay') return { task: reserved.task, outcome: 'replay' };
  await deps.media.attach(prepared.fileIds, taskId);
  deps.events.emit('task.created', taskId);
  return { task: reserved.task, outcome: 'created' };
}

/**
 * R6: a per-model limit of tasks waiting for a worker, decided before the hot path. The count is cached for a
 * second (see TaskService.waitingCount), so the hot path stays one round trip; the limit is a backpressure bound,
 * not money, so a second of staleness is harmless.
 */
async function checkQueueDepth(deps: CreateTaskDeps, model: CatalogModel): Promise<void> {
  const limit = model.capabilities.max_queued ?? deps.config.maxQueuedPerModel;
  if ((await deps.tasks.waitingCount(model.id, deps.clock.now().getTime())) >= limit) {
    throw new AppError('queue_full', `Too many ${model.id} tasks are waiting; try again shortly`, { retryAfter: 10 });
  }
}

/** R5: a concurrency rejection carries the configured Retry-After hint (media tasks and text requests alike). */
export async function reserveWithHint(deps: Pick<Deps, 'wallet' | 'config'>, input: Parameters<Deps['wallet']['reserve']>[0]) {
  try {
    return await deps.wallet.reserve(input);
  } catch (error) {
    if (error instanceof AppError && error.code === 'concurrency_limited') {
      throw new AppError('concurrency_limited', error.message, { retryAfter: deps.config.concurrencyRetryAfterSeconds });
    }
    throw error;
  }
}
