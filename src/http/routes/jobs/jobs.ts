import { Type, type Static } from '@sinclair/typebox';
import type { Deps } from '../../../deps.js';
import { AppError, type ErrorCode } from '../../../lib/errors.js';
import type { CatalogModel } from '../../../modules/catalog/types.js';
import type { Principal } from '../../../modules/keys/authenticator.js';
import { createTask } from '../../../workflows/create-task.js';
import { pollTask } from '../../../workflows/run-task.js';
import { taskErrorMessage } from '../../../workflows/task-errors.js';
import { jobId, jobView, publicStatus, taskIdFromJobId } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf } from '../../plugins/api-key-auth.js';
import { GENERATION_BODY_LIMIT } from '../v1/common.js';
import { DEFAULT_IMAGE_MODEL } from '../v1/images.generations.js';

/**
 * The jobs face (API.md §5): `POST /v1/images/generate` and `/v1/videos/generate` with a required Idempotency-Key,
 * `GET /v1/jobs/:jobId` and `/result`. A thin mapping onto the native request; errors carry `"ok": false`.
 */
export const DEFAULT_VIDEO_MODEL = 'seedance-2.0-fast';

const Size = Type.Union(['16:9_SMALL', '1:1_SMALL', '2:3_SMALL', '9:16_SMALL'].map((size) => Type.Literal(size)));
const ReferenceImage = Type.Object(
  {
    imageUrl: Type.String({ minLength: 1, maxLength: GENERATION_BODY_LIMIT }),
    strength: Type.Optional(Type.Union([Type.Literal('LOW'), Type.Literal('MID'), Type.Literal('HIGH')])),
  },
  { additionalProperties: false },
);
const ImageBody = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 32_000 }),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    quality: Type.Optional(Type.Union([Type.Literal('LOW'), Type.Literal('MEDIUM')])),
    size: Type.Optional(Size),
    referenceImage: Type.Optional(ReferenceImage),
  },
  { additionalProperties: false },
);
const VideoBody = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 32_000 }),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    size: Type.Optional(Size),
    duration: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
    motionHasAudio: Type.Optional(Type.Boolean()),
    referenceImage: Type.Optional(ReferenceImage),
  },
  { additionalProperties: false },
);
const JobParam = Type.Object({ jobId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

const RESOLUTION_ORDER = ['480p', '720p', '1080p'];

function ratioOf(size: string | undefined): string | undefined {
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

function strengthOf(value: 'LOW' | 'MID' | 'HIGH' | undefined) {
  return value ? ({ LOW: 'low', MID: 'mid', HIGH: 'high' } as const)[value] : undefined;
}

async function ownedJob(deps: Deps, principal: Principal, id: string) {
  return deps.tasks.getOwned(taskIdFromJobId(id), principal.customerId, principal.mode);
}

export function registerJobRoutes(app: App, deps: Deps): void {
  const config = { face: 'jobs' as const };

  app.post('/v1/images/generate', { config, onRequest: apiKeyAuth(deps, 'images'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: ImageBody } }, async (request, reply) => {
    const key = idempotencyKey(request, true);
    const principal = principalOf(request);
    const body = request.body;
    const modelId = body.model ?? DEFAULT_IMAGE_MODEL;
    const model = await deps.catalog.get(modelId);
    const quality = body.quality?.toLowerCase();
    const size = imageSize(model, ratioOf(body.size));
    const strength = strengthOf(body.referenceImage?.strength);
    const result = await createTask(deps, {
      principal, face: 'jobs', kind: 'image', model: modelId, prompt: body.prompt,
      params: {
        ...(size ? { size } : {}),
        ...(quality && model.capabilities.qualities?.includes(quality) ? { quality } : {}),
      },
      references: body.referenceImage ? [{ type: 'image', url: body.referenceImage.imageUrl, role: 'reference_image', ...(strength ? { strength } : {}) }] : [],
      callbackUrl: null, metadata: null, idempotencyKey: key, fingerprint: fingerprint('POST', '/v1/images/generate', body),
    });
    if (result.outcome === 'replay') reply.header('Idempotent-Replayed', 'true');
    return reply.status(result.outcome === 'replay' ? 200 : 202).send(jobView(result.task));
  });

  app.post('/v1/videos/generate', { config, onRequest: apiKeyAuth(deps, 'videos'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: VideoBody } }, async (request, reply) => {
    const key = idempotencyKey(request, true);
    const principal = principalOf(request);
    const body = request.body;
    const modelId = body.model ?? DEFAULT_VIDEO_MODEL;
    const model = await deps.catalog.get(modelId);
    const resolution = [...(model.capabilities.resolutions ?? [])].sort((a, b) => RESOLUTION_ORDER.indexOf(a) - RESOLUTION_ORDER.indexOf(b))[0];
    const ratio = ratioOf(body.size);
    const strength = strengthOf(body.referenceImage?.strength);
    const result = await createTask(deps, {
      principal, face: 'jobs', kind: 'video', model: modelId, prompt: body.prompt,
      params: {
        ...(ratio ? { ratio, ...(resolution ? { resolution } : {}) } : {}),
        ...(body.duration !== undefined ? { seconds: body.duration } : {}),
        ...(body.motionHasAudio !== undefined ? { generate_audio: body.motionHasAudio } : {}),
      },
      references: body.referenceImage ? [{ type: 'image', url: body.referenceImage.imageUrl, role: 'first_frame', ...(strength ? { strength } : {}) }] : [],
      callbackUrl: null, metadata: null, idempotencyKey: key, fingerprint: fingerprint('POST', '/v1/videos/generate', body),
    });
    if (result.outcome === 'replay') reply.header('Idempotent-Replayed', 'true');
    return reply.status(result.outcome === 'replay' ? 200 : 202).send(jobView(result.task));
  });

  app.get<{ Params: Static<typeof JobParam> }>('/v1/jobs/:jobId', { config, onRequest: apiKeyAuth(deps, 'tasks:read'), schema: { params: JobParam } }, async (request) => {
    const principal = principalOf(request);
    let task = await ownedJob(deps, principal, request.params.jobId);
    // "Refreshes from the upstream if the job is due": a poll here instead of waiting for the poller.
    if ((task.status === 'submitted' || task.status === 'running') && task.next_action_at && task.next_action_at.getTime() <= deps.clock.now().getTime()) {
      await pollTask(deps, task);
      task = await ownedJob(deps, principal, request.params.jobId);
    }
    return jobView(task);
  });

  app.get<{ Params: Static<typeof JobParam> }>('/v1/jobs/:jobId/result', { config, onRequest: apiKeyAuth(deps, 'tasks:read'), schema: { params: JobParam } }, async (request) => {
    const task = await ownedJob(deps, principalOf(request), request.params.jobId);
    const status = publicStatus(task);
    if (status === 'succeeded') {
      const urls = (task.result?.files ?? []).map((file) => deps.media.signedUrl(file.id).url);
      return { ok: true, jobId: jobId(task.id), type: task.type, url: urls[0] ?? null, urls };
    }
    if (status === 'queued' || status === 'running') throw new AppError('not_ready', 'The job is still processing');
    const code = (task.error_code ?? 'provider_error') as ErrorCode;
    throw new AppError(code, taskErrorMessage(code), { status: 409 });
  });
}
