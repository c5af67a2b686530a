import { Type, type Static } from '@sinclair/typebox';
import type { Config } from '../../../config/index.js';
import type { CatalogService } from '../../../modules/catalog/service.js';
import type { MediaService } from '../../../modules/media/service.js';
import { AppError, type ErrorCode } from '../../../lib/errors.js';
import type { JsonValue } from '../../../providers/spec.js';
import { createTask, type CreateTaskDeps, type CreateTaskResult } from '../../../workflows/create-task.js';
import { nativeTaskView } from '../../../workflows/task-views.js';
import { taskErrorMessage } from '../../../workflows/task-errors.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { CallbackUrl, GENERATION_BODY_LIMIT, Metadata, References, sendCreated, toMetadata, toReferences } from './common.js';
import { waitForTask, type WaitForTaskDeps } from './wait.js';

/**
 * `POST /v1/images/generations` (API.md §4): OpenAI images. Synchronous by default — waits for the task and answers
 * `{created, data, usage}`, or the task's error (400 for moderation or rejected parameters, 502 otherwise; nothing
 * is charged). With `callback_url`, `"async": true` or `Prefer: respond-async` it answers 202 with the task.
 */
const SYNC_ERROR_CODES = new Set(['content_policy_violation', 'invalid_request', 'timeout', 'input_unavailable', 'result_unavailable']);

const Body = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    prompt: Type.String({ minLength: 1, maxLength: 32_000 }),
    n: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    size: Type.Optional(Type.String({ maxLength: 16 })),
    quality: Type.Optional(Type.String({ maxLength: 16 })),
    response_format: Type.Optional(Type.Union([Type.Literal('url'), Type.Literal('b64_json')])),
    background: Type.Optional(Type.String({ maxLength: 16 })),
    output_format: Type.Optional(Type.String({ maxLength: 8 })),
    output_compression: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    moderation: Type.Optional(Type.String({ maxLength: 8 })),
    style: Type.Optional(Type.String({ maxLength: 16 })),
    user: Type.Optional(Type.String({ maxLength: 256 })),
    ratio: Type.Optional(Type.String({ maxLength: 16 })),
    resolution: Type.Optional(Type.String({ maxLength: 16 })),
    references: Type.Optional(References),
    callback_url: Type.Optional(CallbackUrl),
    async: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
type ImageBody = Static<typeof Body>;

function echoed(body: ImageBody): Record<string, JsonValue> {
  const extra: Record<string, JsonValue> = {};
  for (const field of ['background', 'output_format', 'output_compression', 'moderation', 'style', 'user'] as const) {
    if (body[field] !== undefined) extra[field] = body[field]!;
  }
  return extra;
}

/**
 * What the images route uses: the create-task workflow, API-key auth, waiting for the task, the catalogue (default
 * model), the media service and the synchronous wait's bound.
 */
export type ImageGenerationRouteDeps = CreateTaskDeps & ApiKeyAuthDeps & WaitForTaskDeps & {
  catalog: CatalogService;
  media: MediaService;
  config: Pick<Config, 'syncWaitMs'>;
};

export function registerImageGenerationRoute(app: App, deps: ImageGenerationRouteDeps): void {
  app.post('/v1/images/generations', { config: { face: 'v1' }, onRequest: apiKeyAuth(deps, 'images'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: Body } }, async (request, reply) => {
    const principal = principalOf(request);
    const body = request.body;
    const key = idempotencyKey(request, false);
    const prefer = String(request.headers.prefer ?? '');
    const asynchronous = body.async === true || body.callback_url !== undefined || /respond-async/i.test(prefer);
    const result: CreateTaskResult = await createTask(deps, {
      principal,
      face: 'native',
      kind: 'image',
      model: body.model ?? (await deps.catalog.defaultModel('image')),
      prompt: body.prompt,
      params: {
        ...(body.n !== undefined ? { n: body.n } : {}),
        ...(body.size && body.size !== 'auto' ? { size: body.size } : {}),
        ...(body.quality && body.quality !== 'auto' ? { quality: body.quality } : {}),
        response_format: body.response_format ?? 'url',
        extra: echoed(body),
      },
      references: toReferences(body.references),
      callbackUrl: body.callback_url ?? null,
      metadata: toMetadata(body.metadata as Record<string, unknown> | undefined),
      idempotencyKey: key,
      fingerprint: key ? fingerprint('POST', '/v1/images/generations', body) : null,
    });
    if (asynchronous) return sendCreated(reply, result, `/v1/tasks/${result.task.id}`, nativeTaskView(result.task, deps.media));
    const abort = new AbortController();
    request.raw.once('close', () => abort.abort());
    // The wait ends early when the client leaves or shutdown cuts it off (the task goes on; 202 points to it).
    const task = await waitForTask(deps, result.task.id, deps.config.syncWaitMs, AbortSignal.any([abort.signal, request.server.inflight.signal]));
    if (task.status === 'succeeded') {
      const files = task.result?.files ?? [];
      const wantBase64 = task.request.response_format === 'b64_json';
      const data = [];
      for (const file of files) {
        if (wantBase64) data.push({ b64_json: (await deps.media.bytes(await deps.media.get(file.id))).toString('base64') });
        else data.push({ url: deps.media.signedUrl(file.id).url });
      }
      return reply.status(200).send({
        created: Math.floor(task.created_at.getTime() / 1000),
        data,
        usage: { images: files.length, credits: Number(task.charged) },
      });
    }
    if (task.error_code) {
      // A failed synchronous generation answers its own T14 code (400 or 502); any other ending is provider_error.
      const code = SYNC_ERROR_CODES.has(task.error_code) ? (task.error_code as ErrorCode) : 'provider_error';
      throw new AppError(code, taskErrorMessage(task.error_code));
    }
    // Still running after the wait: hand back the task to poll.
    return reply.status(202).header('Location', `/v1/tasks/${task.id}`).send(nativeTaskView(task, deps.media));
  });
}
