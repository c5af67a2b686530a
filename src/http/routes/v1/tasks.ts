import { Type, type Static } from '@sinclair/typebox';
import type { MediaService } from '../../../modules/media/service.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import { requireScope } from '../../../modules/keys/authenticator.js';
import { cancelTask, type CancelTaskDeps } from '../../../workflows/cancel-task.js';
import { nativeTaskView, taskIdFromJobId } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam, Pagination, Strict, pageLimit } from '../../schemas.js';

/** Any task, in the native shape (API.md §4): get, list (paginated, filterable), cancel (SEMANTICS T13). */
const STATUS_FILTER: Record<string, string[]> = {
  queued: ['queued', 'dispatching', 'submitted'], running: ['running'], succeeded: ['succeeded'], failed: ['failed'],
  cancelled: ['cancelled'], expired: ['expired'],
};
const ListQuery = Type.Composite(
  [
    Pagination,
    Type.Object({
      status: Type.Optional(Type.Union(Object.keys(STATUS_FILTER).map((status) => Type.Literal(status)))),
      type: Type.Optional(Type.Union([Type.Literal('video'), Type.Literal('image'), Type.Literal('music')])),
    }),
  ],
  Strict,
);
const FAMILY_SCOPE: Record<string, string> = { video: 'videos', image: 'images', music: 'music' };

/** What the task routes use: the cancel workflow, API-key auth, and the tasks and media they read. */
export type TaskRouteDeps = CancelTaskDeps & ApiKeyAuthDeps & { tasks: TaskService; media: MediaService };

export function registerTaskRoutes(app: App, deps: TaskRouteDeps): void {
  const config = { face: 'v1' as const };

  app.get<{ Params: Static<typeof IdParam> }>('/v1/tasks/:id', { config, onRequest: apiKeyAuth(deps, 'tasks:read'), schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    return nativeTaskView(await deps.tasks.getOwned(taskIdFromJobId(request.params.id), principal.customerId, principal.mode), deps.media);
  });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/tasks', { config, onRequest: apiKeyAuth(deps, 'tasks:read'), schema: { querystring: ListQuery } }, async (request) => {
    const principal = principalOf(request);
    const limit = pageLimit(request.query);
    const rows = await deps.tasks.list({
      customerId: principal.customerId,
      mode: principal.mode,
      ...(request.query.status ? { status: STATUS_FILTER[request.query.status] } : {}),
      ...(request.query.type ? { type: request.query.type } : {}),
      limit: limit + 1,
      after: request.query.after ?? null,
    });
    return { object: 'list', data: rows.slice(0, limit).map((row) => nativeTaskView(row, deps.media)), has_more: rows.length > limit };
  });

  app.post<{ Params: Static<typeof IdParam> }>('/v1/tasks/:id/cancel', { config, onRequest: apiKeyAuth(deps), schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    const task = await deps.tasks.getOwned(taskIdFromJobId(request.params.id), principal.customerId, principal.mode);
    requireScope(principal, FAMILY_SCOPE[task.type] ?? task.type);
    return nativeTaskView(await cancelTask(deps, task), deps.media);
  });
}
