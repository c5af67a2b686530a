import type { Deps } from '../deps.js';
import type { CatalogModel } from '../modules/catalog/types.js';
import type { Principal } from '../modules/keys/authenticator.js';
import type { StoredReference } from '../modules/tasks/types.js';
import { createTaskOf, resolveModel, type CreateTaskDeps, type CreateTaskResult, type TaskParams } from './create-task.js';
import type { RawReference } from './references.js';

/**
 * The jobs face (API.md §5) as a create-task request: `POST /v1/images/generate` and `/v1/videos/generate` bodies are
 * mapped onto the native request here — the default model of the type from the catalogue, `R_SMALL` sizes to the
 * model's smallest size or resolution of that aspect ratio, the quality when the model offers it, the reference
 * image's strength. The model is resolved once, for this principal and kind.
 */
export type JobsRequestDeps = CreateTaskDeps & Pick<Deps, 'catalog'>;

/** `<ratio>_SMALL`, e.g. `16:9_SMALL` (the route's schema lists the accepted ones). */
export type JobsSize = string;
export type JobsStrength = 'LOW' | 'MID' | 'HIGH';

export interface JobsReferenceImage {
  imageUrl: string;
  strength?: JobsStrength;
}

export interface JobsImageBody {
  prompt: string;
  model?: string;
  quality?: 'LOW' | 'MEDIUM';
  size?: JobsSize;
  referenceImage?: JobsReferenceImage;
}

export interface JobsVideoBody {
  prompt: string;
  model?: string;
  size?: JobsSize;
  duration?: number;
  motionHasAudio?: boolean;
  referenceImage?: JobsReferenceImage;
}

/** What the HTTP layer adds: who asks, and the request's idempotency key and fingerprint (required on this face). */
export interface JobsRequestContext {
  principal: Principal;
  idempotencyKey: string | null;
  fingerprint: string;
}

const RESOLUTION_ORDER = ['480p', '720p', '1080p'];

function ratioOf(size: JobsSize | undefined): string | undefined {
  return size?.replace('_SMALL', '');
}

/** `R_SMALL` on an image model: the smallest catalogue size with that aspect ratio, else the model default. */
function imageSize(model: CatalogModel, ratio: string | undefined): string | undefined {
  if (!ratio) return undefined;
  const [w, h] = ratio.split(':').map(Number) as [number, number];
  const matching = (model.capabilities.sizes ?? [])
    .map((size) => size.split('x').map(Number) as [number, number])
    .filter(([width, height]) => Math.abs(width / height - w / h) < 0.02)
    .sort((a, b) => a[0] * a[1] - b[0] * b[1]);
  return matching[0] ? `${matching[0][0]}x${matching[0][1]}` : undefined;
}

/** `R_SMALL` on a video model: the ratio at the model's lowest resolution. */
function lowestResolution(model: CatalogModel): string | undefined {
  return [...(model.capabilities.resolutions ?? [])].sort((a, b) => RESOLUTION_ORDER.indexOf(a) - RESOLUTION_ORDER.indexOf(b))[0];
}

function strengthOf(value: JobsStrength | undefined): StoredReference['strength'] | undefined {
  return value ? ({ LOW: 'low', MID: 'mid', HIGH: 'high' } as const)[value] : undefined;
}

function referenceOf(image: JobsReferenceImage | undefined, role: RawReference['role']): RawReference[] {
  if (!image) return [];
  const strength = strengthOf(image.strength);
  return [{ type: 'image', url: image.imageUrl, role, ...(strength ? { strength } : {}) }];
}

export async function createImageJob(deps: JobsRequestDeps, body: JobsImageBody, context: JobsRequestContext): Promise<CreateTaskResult> {
  const model = await resolveModel(deps, context.principal, body.model ?? (await deps.catalog.defaultModel('image')), 'image');
  const quality = body.quality?.toLowerCase();
  const size = imageSize(model, ratioOf(body.size));
  const params: TaskParams = {
    ...(size ? { size } : {}),
    ...(quality && model.capabilities.qualities?.includes(quality) ? { quality } : {}),
  };
  return createTaskOf(deps, model, {
    principal: context.principal, face: 'jobs', kind: 'image', model: model.id, prompt: body.prompt, params,
    references: referenceOf(body.referenceImage, 'reference_image'),
    callbackUrl: null, metadata: null, idempotencyKey: context.idempotencyKey, fingerprint: context.fingerprint,
  });
}

export async function createVideoJob(deps: JobsRequestDeps, body: JobsVideoBody, context: JobsRequestContext): Promise<CreateTaskResult> {
  const model = await resolveModel(deps, context.principal, body.model ?? (await deps.catalog.defaultModel('video')), 'video');
  const resolution = lowestResolution(model);
  const ratio = ratioOf(body.size);
  const params: TaskParams = {
    ...(ratio ? { ratio, ...(resolution ? { resolution } : {}) } : {}),
    ...(body.duration !== undefined ? { seconds: body.duration } : {}),
    ...(body.motionHasAudio !== undefined ? { generate_audio: body.motionHasAudio } : {}),
  };
  return createTaskOf(deps, model, {
    principal: context.principal, face: 'jobs', kind: 'video', model: model.id, prompt: body.prompt, params,
    references: referenceOf(body.referenceImage, 'first_frame'),
    callbackUrl: null, metadata: null, idempotencyKey: context.idempotencyKey, fingerprint: context.fingerprint,
  });
}
