import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { MediaService } from '../../../modules/media/service.js';
import { FACES } from '../../../modules/tasks/types.js';
import { AppError } from '../../../lib/errors.js';
import { parseVideoSize } from '../../../lib/video-size.js';
import { createTask, type CreateTaskDeps } from '../../../workflows/create-task.js';
import { openAiVideoView } from '../../../workflows/task-views.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { inspectInput } from '../../input-guard.js';
import { CallbackUrl, GENERATION_BODY_LIMIT, Metadata, References, Seconds, sendCreated, toMetadata, toReferences, toSeconds } from './common.js';

/**
 * `POST /v1/videos` (API.md §4): native video fields plus the OpenAI Video ones. JSON or multipart — the official
 * `openai` client always sends multipart, with an optional `input_reference` file. Answers the task with the
 * OpenAI Video fields on top.
 */
/** An uploaded file as the multipart reader hands it on: its bytes as received (never re-encoded) and their digest. */
const UploadedFile = Type.Object({ sha256: Type.String(), content_type: Type.String(), size: Type.Integer(), data: Type.Uint8Array() }, { additionalProperties: false });

const fields = {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    prompt: Type.String({ minLength: 1, maxLength: 20_000 }),
    seconds: Type.Optional(Seconds),
    ratio: Type.Optional(Type.String({ maxLength: 16 })),
    resolution: Type.Optional(Type.String({ maxLength: 16 })),
    size: Type.Optional(Type.String({ maxLength: 16 })),
    generate_audio: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('true'), Type.Literal('false')])),
    seed: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 4294967295 }), Type.String({ pattern: '^[0-9]{1,10}$' })])),
    references: Type.Optional(References),
    callback_url: Type.Optional(CallbackUrl),
    metadata: Type.Optional(Metadata),
};
const ReferenceText = Type.String({ maxLength: GENERATION_BODY_LIMIT });
/** JSON: `input_reference` is a URL, a data URL or base64 text. */
const Body = Type.Object({ ...fields, input_reference: Type.Optional(ReferenceText) }, { additionalProperties: false });
/** Multipart: `input_reference` may also be a file part. */
const FormBody = Type.Object({ ...fields, input_reference: Type.Optional(Type.Union([UploadedFile, ReferenceText])) }, { additionalProperties: false });
type VideoBody = Static<typeof FormBody>;
const check = TypeCompiler.Compile(FormBody);

/**
 * Fastify validates only JSON bodies (the route's schema is keyed by content type); multipart bodies, and a POST
 * without a body (which the server's preValidation hook turns into `{}`), are validated here with the same schema.
 */
async function readBody(request: FastifyRequest): Promise<VideoBody> {
  if (!request.isMultipart()) {
    if (request.mediaType !== 'application/json') validate(request.body);
    return request.body as VideoBody;
  }
  const body = await readParts(request);
  if (typeof body.metadata === 'string') {
    try {
      body.metadata = JSON.parse(body.metadata);
    } catch {
      throw new AppError('invalid_request', 'metadata must be a JSON object', { param: 'metadata' });
    }
  }
  inspectInput(body);
  validate(body);
  return body as VideoBody;
}

/**
 * The multipart parts as one body. A missing or broken boundary, a truncated part or a malformed part header is the
 * client's fault: busboy's untyped errors become a 400; the plugin's typed limits keep their mapping (errors.ts).
 */
async function readParts(request: FastifyRequest): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        body[part.fieldname] = {
          sha256: createHash('sha256').update(bytes).digest('hex'),
          content_type: part.mimetype,
          size: bytes.length,
          data: bytes,
        };
      } else {
        body[part.fieldname] = part.value;
      }
    }
  } catch (error) {
    if (error instanceof AppError || (error as { code?: string }).code?.startsWith('FST_')) throw error;
    throw new AppError('invalid_request', 'The multipart body is malformed (missing boundary or truncated part)');
  }
  return body;
}

/** The errors Fastify's own validation would give (http/errors.ts): unknown and missing parameters are named. */
function validate(body: unknown): asserts body is VideoBody {
  if (check.Check(body)) return;
  const first = check.Errors(body).First()!;
  const param = first.path.replace(/^\//, '').replace(/\//g, '.');
  if (first.type === ValueErrorType.ObjectAdditionalProperties && body && typeof body === 'object') {
    const extra = Object.keys(body).find((field) => !(field in FormBody.properties)) ?? param;
    throw new AppError('unknown_parameter', `Unknown parameter: ${extra}`, { param: extra });
  }
  if (first.type === ValueErrorType.ObjectRequiredProperty) {
    throw new AppError('invalid_request', `Missing required parameter: ${param}`, { param });
  }
  throw new AppError('invalid_request', `Invalid ${param || 'body'}: ${first.message}`, param ? { param } : {});
}

/** What `POST /v1/videos` uses: the create-task workflow, API-key auth and the media service (the view's links). */
export type VideoCreateRouteDeps = CreateTaskDeps & ApiKeyAuthDeps & { media: MediaService };

export function registerVideoCreateRoute(app: App, deps: VideoCreateRouteDeps): void {
  app.post(
    '/v1/videos',
    { config: { face: 'v1' }, onRequest: apiKeyAuth(deps, 'videos'), bodyLimit: GENERATION_BODY_LIMIT, schema: { body: { content: { 'application/json': { schema: Body } } } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const key = idempotencyKey(request, false);
      const body = await readBody(request);
      const { input_reference: file, ...rest } = body;
      const fingerprintBody = file && typeof file === 'object' ? { ...rest, input_reference: { sha256: file.sha256, content_type: file.content_type, size: file.size } } : body;
      let ratio = body.ratio;
      let resolution = body.resolution;
      if (body.size) {
        const parsed = parseVideoSize(body.size);
        if (!parsed) throw new AppError('invalid_request', `Unsupported size "${body.size}"`, { param: 'size' });
        ratio ??= parsed.ratio;
        resolution ??= parsed.resolution;
      }
      const references = toReferences(body.references);
      if (file) {
        references.unshift(typeof file === 'string'
          ? { type: 'image', url: file, role: 'first_frame' }
          : { type: 'image', bytes: Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength), role: 'first_frame' });
      }
      const result = await createTask(deps, {
        principal,
        face: FACES.openai,
        kind: 'video',
        model: body.model,
        prompt: body.prompt,
        params: {
          ...(body.seconds !== undefined ? { seconds: toSeconds(body.seconds)! } : {}),
          ...(ratio ? { ratio } : {}),
          ...(resolution ? { resolution } : {}),
          ...(body.size ? { size: body.size } : {}),
          ...(body.generate_audio !== undefined ? { generate_audio: body.generate_audio === true || body.generate_audio === 'true' } : {}),
          ...(body.seed !== undefined ? { seed: Number(body.seed) } : {}),
        },
        references,
        callbackUrl: body.callback_url ?? null,
        metadata: toMetadata(body.metadata as Record<string, unknown> | undefined),
        idempotencyKey: key,
        fingerprint: key ? fingerprint('POST', '/v1/videos', fingerprintBody) : null,
      });
      return sendCreated(reply, result, `/v1/videos/${result.task.id}`, openAiVideoView(result.task, deps.media));
    },
  );
}
