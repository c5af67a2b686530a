import { Type } from '@sinclair/typebox';
import type { CatalogService } from '../../../modules/catalog/service.js';
import type { MediaService } from '../../../modules/media/service.js';
import { createTask, type CreateTaskDeps } from '../../../workflows/create-task.js';
import { nativeTaskView } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { CallbackUrl, Metadata, sendCreated, toMetadata } from './common.js';

/** `POST /v1/music/generations` (API.md §4): an async music task; without `model`, the catalogue's default. */

const Body = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    prompt: Type.String({ minLength: 1, maxLength: 5000 }),
    style: Type.Optional(Type.String({ maxLength: 1000 })),
    title: Type.Optional(Type.String({ maxLength: 200 })),
    instrumental: Type.Optional(Type.Boolean()),
    callback_url: Type.Optional(CallbackUrl),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

/** What the music route uses: the create-task workflow, API-key auth, the catalogue (default model) and the media service. */
export type MusicGenerationRouteDeps = CreateTaskDeps & ApiKeyAuthDeps & { catalog: CatalogService; media: MediaService };

export function registerMusicGenerationRoute(app: App, deps: MusicGenerationRouteDeps): void {
  app.post('/v1/music/generations', { config: { face: 'v1' }, onRequest: apiKeyAuth(deps, 'music'), schema: { body: Body } }, async (request, reply) => {
    const body = request.body;
    const key = idempotencyKey(request, false);
    const result = await createTask(deps, {
      principal: principalOf(request),
      face: 'native',
      kind: 'music',
      model: body.model ?? (await deps.catalog.defaultModel('music')),
      prompt: body.prompt,
      params: {
        ...(body.style !== undefined ? { style: body.style } : {}),
        ...(body.title !== undefined ? { title: body.title } : {}),
        ...(body.instrumental !== undefined ? { instrumental: body.instrumental } : {}),
      },
      references: [],
      callbackUrl: body.callback_url ?? null,
      metadata: toMetadata(body.metadata as Record<string, unknown> | undefined),
      idempotencyKey: key,
      fingerprint: key ? fingerprint('POST', '/v1/music/generations', body) : null,
    });
    return sendCreated(reply, result, `/v1/tasks/${result.task.id}`, nativeTaskView(result.task, deps.media));
  });
}
