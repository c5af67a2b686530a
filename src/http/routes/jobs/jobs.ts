import { Type, type Static } from '@sinclair/typebox';
import type { MediaService } from '../../../modules/media/service.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import { AppError, type ErrorCode } from '../../../lib/errors.js';
import type { Principal } from '../../../modules/keys/authenticator.js';
import { createImageJob, createVideoJob, type JobsRequestDeps } from '../../../workflows/jobs-request.js';
import { refreshIfDue, type RefreshTaskDeps } from '../../../workflows/refresh-task.js';
import { taskErrorMessage } from '../../../workflows/task-errors.js';
import { jobId, jobView, publicStatus, taskIdFromJobId } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { GENERATION_BODY_LIMIT } from '../v1/common.js';

/**
 * The jobs face (API.md §5): `POST /v1/images/generate` and `/v1/videos/generate` with a required Idempotency-Key,
 * `GET /v1/jobs/:jobId` and `/result`. A thin mapping onto the native request (workflows/jobs-request.ts); errors
 * carry `"ok": false`.
 */

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

/** What the jobs face uses: the jobs request and task refresh workflows, API-key auth, and the tasks and media it reads. */
export type JobRouteDeps = JobsRequestDeps & RefreshTaskDeps & ApiKeyAuthDeps & { tasks: TaskService; media: MediaService };

async function ownedJob(deps: Pick<JobRouteDeps, 'tasks'>, principal: Principal, id: string) {
  return deps.tasks.getOwned(taskIdFromJobId(id), principal.customerId, principal.mode);
}

export function registerJobRoutes(app: App, deps: JobRouteDeps): void {
  const config = { face: 'jobs' as const };

  app.post('/v1/images/generate', { config, onRequest: apiKeyAuth(deps, 'images'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: ImageBody } }, async (request, reply) => {
    const key = idempotencyKey(request, true);
    const principal = principalOf(request);
    const result = await createImageJob(deps, request.body, { principal, idempotencyKey: key, fingerprint: fingerprint('POST', '/v1/images/generate', request.body) });
    if (result.outcome === 'replay') reply.header('Idempotent-Replayed', 'true');
    return reply.status(result.outcome === 'replay' ? 200 : 202).send(jobView(result.task));
  });

  app.post('/v1/videos/generate', { config, onRequest: apiKeyAuth(deps, 'videos'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: VideoBody } }, async (request, reply) => {
    const key = idempotencyKey(request, true);
    const principal = principalOf(request);
    const result = await createVideoJob(deps, request.body, { principal, idempotencyKey: key, fingerprint: fingerprint('POST', '/v1/videos/generate', request.body) });
    if (result.outcome === 'replay') reply.header('Idempotent-Replayed', 'true');
    return reply.status(result.outcome === 'replay' ? 200 : 202).send(jobView(result.task));
  });

  app.get<{ Params: Static<typeof JobParam> }>('/v1/jobs/:jobId', { config, onRequest: apiKeyAuth(deps, 'tasks:read'), schema: { params: JobParam } }, async (request) => {
    const principal = principalOf(request);
    // "Refreshes from the upstream if the job is due" (workflows/refresh-task.ts).
    return jobView(await refreshIfDue(deps, await ownedJob(deps, principal, request.params.jobId)));
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
