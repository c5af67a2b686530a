import { Type, type Static } from '@sinclair/typebox';
import type { MediaService } from '../../../modules/media/service.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import { FACES } from '../../../modules/tasks/types.js';
import { createTask, type CreateTaskDeps } from '../../../workflows/create-task.js';
import type { RawReference } from '../../../workflows/references.js';
import { newApiView } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { GENERATION_BODY_LIMIT, Seconds, toSeconds } from '../v1/common.js';

/**
 * The new-api / reseller face (API.md §6): `POST /v1/video/generations` with options under `metadata` and
 * references as `content` items (plus a top-level `images` array), `GET /v1/video/generations/:task_id`.
 */
const UrlObject = Type.Object({ url: Type.String({ minLength: 1, maxLength: GENERATION_BODY_LIMIT }) });
const ContentItem = Type.Object({
  type: Type.Union([Type.Literal('image_url'), Type.Literal('video_url'), Type.Literal('audio_url')]),
  image_url: Type.Optional(UrlObject),
  video_url: Type.Optional(UrlObject),
  audio_url: Type.Optional(UrlObject),
  role: Type.Optional(Type.String({ maxLength: 64 })),
});
const Options = Type.Object({
  ratio: Type.Optional(Type.String({ maxLength: 16 })),
  resolution: Type.Optional(Type.String({ maxLength: 16 })),
  generate_audio: Type.Optional(Type.Boolean()),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
  callback_url: Type.Optional(Type.String({ maxLength: 2048 })),
  content: Type.Optional(Type.Array(ContentItem, { maxItems: 32 })),
}, { maxProperties: 32 });
const Body = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    prompt: Type.String({ minLength: 1, maxLength: 32_000 }),
    seconds: Type.Optional(Seconds),
    duration: Type.Optional(Seconds),
    images: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: GENERATION_BODY_LIMIT }), { maxItems: 9 })),
    metadata: Type.Optional(Options),
  },
  { additionalProperties: false },
);
const TaskParam = Type.Object({ task_id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

const KIND = { image_url: 'image', video_url: 'video', audio_url: 'audio' } as const;

function referencesOf(body: Static<typeof Body>): RawReference[] {
  const references: RawReference[] = (body.images ?? []).map((url) => ({ type: 'image', url, role: 'reference_image' }));
  for (const item of body.metadata?.content ?? []) {
    const url = item[item.type]?.url;
    if (url) references.push({ type: KIND[item.type], url, ...(item.role ? { role: item.role } : {}) });
  }
  return references;
}

/** What the new-api face uses: the create-task workflow, API-key auth, and the tasks and media it reads. */
export type NewApiRouteDeps = CreateTaskDeps & ApiKeyAuthDeps & { tasks: TaskService; media: MediaService };

export function registerNewApiRoutes(app: App, deps: NewApiRouteDeps): void {
  const config = { face: 'v1' as const };
  app.post('/v1/video/generations', { config, onRequest: apiKeyAuth(deps, 'videos'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: Body } }, async (request, reply) => {
    const body = request.body;
    const options = body.metadata ?? {};
    const key = idempotencyKey(request, false);
    const { callback_url: callbackUrl, content: _content, ratio, resolution, generate_audio: audio, seed, ...rest } = options;
    const result = await createTask(deps, {
      principal: principalOf(request),
      face: FACES.newapi,
      kind: 'video',
      model: body.model,
      prompt: body.prompt,
      params: {
        ...(body.seconds ?? body.duration ? { seconds: toSeconds(body.seconds ?? body.duration)! } : {}),
        ...(typeof ratio === 'string' ? { ratio } : {}),
        ...(typeof resolution === 'string' ? { resolution } : {}),
        ...(typeof audio === 'boolean' ? { generate_audio: audio } : {}),
        ...(typeof seed === 'number' ? { seed } : {}),
      },
      references: referencesOf(body),
      callbackUrl: typeof callbackUrl === 'string' ? callbackUrl : null,
      metadata: { ...(rest as Record<string, never>), ...(ratio ? { ratio } : {}), ...(resolution ? { resolution } : {}) },
      idempotencyKey: key,
      fingerprint: key ? fingerprint('POST', '/v1/video/generations', body) : null,
    });
    if (result.outcome === 'replay') reply.header('Idempotent-Replayed', 'true');
    const view = newApiView(result.task, deps.media);
    return reply.status(200).send({ task_id: view.task_id, status: view.status });
  });

  app.get<{ Params: Static<typeof TaskParam> }>('/v1/video/generations/:task_id', { config, onRequest: apiKeyAuth(deps, 'videos'), schema: { params: TaskParam } }, async (request) => {
    const principal = principalOf(request);
    const task = await deps.tasks.getOwned(request.params.task_id, principal.customerId, principal.mode);
    return newApiView(task, deps.media);
  });
}
