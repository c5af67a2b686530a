import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../../../lib/errors.js';
import { cancelOperatorTask, getOperatorTask, listOperatorTasks, type OperatorCancelDeps } from '../../../workflows/operator-tasks.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { IdParam, ModeSchema, Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';

/**
 * Operator API: every customer's tasks with the upstream details customers never see (API.md §8 "Tasks"), and the
 * operator's cancel (SEMANTICS T13, audited). Lists are newest first; `after` is the last id of the previous page.
 */
const STATUS_FILTER: Record<string, string[]> = {
  queued: ['queued', 'dispatching', 'submitted'], running: ['running'], succeeded: ['succeeded'], failed: ['failed'],
  cancelled: ['cancelled'], expired: ['expired'],
};
const TYPES = ['video', 'image', 'music', 'chat', 'embedding'] as const;
const ListQuery = Type.Composite(
  [
    Pagination,
    Type.Object({
      customer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      mode: Type.Optional(ModeSchema),
      model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      status: Type.Optional(Type.Union(Object.keys(STATUS_FILTER).map((status) => Type.Literal(status)))),
      type: Type.Optional(Type.Union(TYPES.map((type) => Type.Literal(type)))),
      from: Type.Optional(Type.String({ maxLength: 64 })),
      to: Type.Optional(Type.String({ maxLength: 64 })),
    }),
  ],
  Strict,
);

/** What the task routes use: the operator task workflows, operator auth and the client address for the audit. */
export type OperatorTaskRouteDeps = OperatorCancelDeps & OperatorAuthDeps & ClientIpDeps;

export function registerOperatorTaskRoutes(app: App, deps: OperatorTaskRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);

  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/admin/tasks', { config, onRequest, schema: { querystring: ListQuery } }, async (request) => {
    const query = request.query;
    const from = query.from === undefined ? undefined : parseTimestamp(query.from, 'from');
    const to = query.to === undefined ? undefined : parseTimestamp(query.to, 'to');
    if (from && to && to.getTime() < from.getTime()) throw new AppError('invalid_request', 'to must not be before from', { param: 'to' });
    return listOperatorTasks(deps, {
      ...(query.customer ? { customerId: query.customer } : {}),
      ...(query.mode ? { mode: query.mode } : {}),
      ...(query.model ? { model: query.model } : {}),
      ...(query.status ? { status: STATUS_FILTER[query.status] } : {}),
      ...(query.type ? { type: query.type } : {}),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      limit: pageLimit(query),
      after: query.after ?? null,
    });
  });

  app.get<{ Params: Static<typeof IdParam> }>('/api/admin/tasks/:id', { config, onRequest, schema: { params: IdParam } }, async (request) =>
    getOperatorTask(deps, request.params.id));

  app.post<{ Params: Static<typeof IdParam> }>('/api/admin/tasks/:id/cancel', { config, onRequest, schema: { params: IdParam } }, async (request) =>
    cancelOperatorTask(deps, request.params.id, auditContext(deps, request, operatorActor(request))));
}
