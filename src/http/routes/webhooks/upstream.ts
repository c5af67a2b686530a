import { Type, type Static } from '@sinclair/typebox';
import type { Deps } from '../../../deps.js';
import { pollTask } from '../../../workflows/run-task.js';
import type { ChannelRouter } from '../../../workflows/router.js';
import type { App } from '../../app-type.js';
import { notFound } from '../../../lib/errors.js';

/**
 * Upstream callbacks (Ark, Suno, new-api): `/webhooks/upstream/:channel/:token`, the token naming the task and
 * signed by genrelay. A callback is only a hint (SEMANTICS T7, T12): it is answered 200 at once and the task's
 * state is re-read through the same code path as polling, so duplicates and out-of-order deliveries are harmless.
 */
const Params = Type.Object({ channel: Type.String({ maxLength: 64 }), token: Type.String({ maxLength: 200 }) });

export function registerUpstreamCallbackRoute(app: App, deps: Deps): void {
  app.post<{ Params: Static<typeof Params> }>('/webhooks/upstream/:channel/:token', { config: { face: 'plain' }, schema: { params: Params } }, async (request, reply) => {
    const router = deps.router as Partial<ChannelRouter>;
    const taskId = router.verifyCallbackToken?.(request.params.channel, request.params.token) ?? null;
    if (!taskId) throw notFound('callback');
    const task = await deps.tasks.get(taskId);
    if (!task || task.channel_id !== request.params.channel) {
      request.log.info({ taskId, channelId: request.params.channel }, 'upstream callback for an unknown task');
      return reply.status(200).send({ ok: true });
    }
    const route = await deps.router.routeOf(task);
    const about = route?.adapter.parseCallback?.(request.body, request.headers) ?? null;
    if (about && about.providerTaskId !== task.provider_task_id) {
      request.log.info({ taskId, channelId: task.channel_id }, 'upstream callback about another upstream task');
      return reply.status(200).send({ ok: true });
    }
    if (task.status === 'submitted' || task.status === 'running') {
      // Act after answering: the upstream's ack window is short (Ark: 5 s).
      setImmediate(() => {
        pollTask(deps, task).catch((error) => deps.logger.warn({ err: error, taskId }, 'callback-triggered status check failed'));
      });
    }
    return reply.status(200).send({ ok: true });
  });
}
