import { Type, type Static } from '@sinclair/typebox';
import { notFound } from '../../../lib/errors.js';
import { acceptUpstreamCallback, type RefreshTaskDeps } from '../../../workflows/refresh-task.js';
import type { App } from '../../app-type.js';

/**
 * Upstream callbacks (Ark, Suno, new-api): `/webhooks/upstream/:channel/:token`, the token naming the task and
 * signed by genrelay. A callback is only a hint (SEMANTICS T7, T12): it is answered 200 at once and the task's
 * state is re-read through the same code path as polling (workflows/refresh-task.ts), so duplicates and
 * out-of-order deliveries are harmless.
 */
const Params = Type.Object({ channel: Type.String({ maxLength: 64 }), token: Type.String({ maxLength: 200 }) });

/** What the callback route uses: the refresh workflow (callback verification and the status check). */
export type UpstreamCallbackRouteDeps = RefreshTaskDeps;

export function registerUpstreamCallbackRoute(app: App, deps: UpstreamCallbackRouteDeps): void {
  app.post<{ Params: Static<typeof Params> }>('/webhooks/upstream/:channel/:token', { config: { face: 'plain' }, schema: { params: Params } }, async (request, reply) => {
    const outcome = await acceptUpstreamCallback(deps, { channelId: request.params.channel, token: request.params.token, body: request.body, headers: request.headers });
    if (outcome.kind === 'invalid_token') throw notFound('callback');
    if (outcome.kind === 'unknown_task') {
      request.log.info({ taskId: outcome.taskId, channelId: request.params.channel }, 'upstream callback for an unknown task');
    } else if (outcome.kind === 'other_upstream_task') {
      request.log.info({ taskId: outcome.taskId, channelId: outcome.channelId }, 'upstream callback about another upstream task');
    }
    return reply.status(200).send({ ok: true });
  });
}
