import { Type, type Static } from '@sinclair/typebox';
import type { MediaService } from '../../../modules/media/service.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import { AppError } from '../../../lib/errors.js';
import { TERMINAL_STATUSES, type TaskRow } from '../../../modules/tasks/types.js';
import type { Principal } from '../../../modules/keys/authenticator.js';
import { cancelTask, type CancelTaskDeps } from '../../../workflows/cancel-task.js';
import { openAiVideoView } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam, Pagination, Strict, pageLimit } from '../../schemas.js';
import { sendFile, type SendFileDeps } from './files.js';

/** OpenAI Video retrieve / list / delete / content (API.md §4). Only video tasks are visible here. */
const ListQuery = Type.Composite([Pagination, Type.Object({ order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')])) })], Strict);
const ContentQuery = Type.Object({ variant: Type.Optional(Type.Literal('video')) }, Strict);

/** What the video read routes use: the cancel workflow, API-key auth, file sending, and the tasks and media they read. */
export type VideoReadRouteDeps = CancelTaskDeps & ApiKeyAuthDeps & SendFileDeps & { tasks: TaskService; media: MediaService };

export async function ownedVideo(deps: { tasks: TaskService }, principal: Principal, id: string): Promise<TaskRow> {
  const task = await deps.tasks.getOwned(id, principal.customerId, principal.mode);
  if (task.type !== 'video') throw new AppError('not_found', 'No such video');
  return task;
}

export function registerVideoReadRoutes(app: App, deps: VideoReadRouteDeps): void {
  const onRequest = apiKeyAuth(deps, 'videos');
  const config = { face: 'v1' as const };

  app.get<{ Params: Static<typeof IdParam> }>('/v1/videos/:id', { config, onRequest, schema: { params: IdParam } }, async (request) =>
    openAiVideoView(await ownedVideo(deps, principalOf(request), request.params.id), deps.media),
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/videos', { config, onRequest, schema: { querystring: ListQuery } }, async (request) => {
    const principal = principalOf(request);
    const limit = pageLimit(request.query);
    const rows = await deps.tasks.list({ customerId: principal.customerId, mode: principal.mode, type: 'video', limit: limit + 1, after: request.query.after ?? null });
    const data = rows.slice(0, limit).map((row) => openAiVideoView(row, deps.media));
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: rows.length > limit };
  });

  app.delete<{ Params: Static<typeof IdParam> }>('/v1/videos/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const task = await ownedVideo(deps, principalOf(request), request.params.id);
    if (TERMINAL_STATUSES.includes(task.status)) await deps.media.deleteTaskFiles(task.id);
    else await cancelTask(deps, task);
    return { id: task.id, object: 'video.deleted', deleted: true };
  });

  app.get<{ Params: Static<typeof IdParam>; Querystring: Static<typeof ContentQuery> }>(
    '/v1/videos/:id/content',
    { config, onRequest, schema: { params: IdParam, querystring: ContentQuery } },
    async (request, reply) => {
      const task = await ownedVideo(deps, principalOf(request), request.params.id);
      const fileId = task.status === 'succeeded' ? task.result?.files[0]?.id : undefined;
      if (!fileId) throw new AppError('not_found', 'The video content is not available');
      return sendFile(deps, request, reply, await deps.media.get(fileId));
    },
  );
}
