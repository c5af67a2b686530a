import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../lib/errors.js';
import type { FileRow, MediaService } from '../../../modules/media/service.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam, Strict } from '../../schemas.js';

/**
 * `GET /v1/files/:id/content` (API.md §4): durable result download by signed link or by the owner's API key,
 * with single-range `Range` support.
 */
const Query = Type.Object(
  { expires: Type.Optional(Type.String({ maxLength: 16 })), sig: Type.Optional(Type.String({ maxLength: 128 })) },
  Strict,
);

/** What sending a stored file reads: the media service. */
export type SendFileDeps = { media: MediaService };

/** What the file route uses: API-key auth (links without a signature) and the media service. */
export type FileRouteDeps = ApiKeyAuthDeps & SendFileDeps;

function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

export async function sendFile(deps: SendFileDeps, request: FastifyRequest, reply: FastifyReply, file: FileRow): Promise<FastifyReply> {
  const size = Number(file.size_bytes);
  const range = parseRange(request.headers.range, size);
  reply.header('Accept-Ranges', 'bytes').header('Cache-Control', 'private, max-age=3600').type(file.content_type);
  if (range === 'invalid') {
    return reply.status(416).header('Content-Range', `bytes */${size}`).type('application/json').send({
      error: { message: 'Requested range not satisfiable', type: 'invalid_request_error', code: 'invalid_request', request_id: request.id },
    });
  }
  if (range) {
    reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`).header('Content-Length', String(range.end - range.start + 1));
    return reply.send(await deps.media.read(file, range));
  }
  reply.header('Content-Length', String(size));
  return reply.send(await deps.media.read(file));
}

export function registerFileRoutes(app: App, deps: FileRouteDeps): void {
  const keyAuth = apiKeyAuth(deps);
  app.get<{ Params: Static<typeof IdParam>; Querystring: Static<typeof Query> }>(
    '/v1/files/:id/content',
    {
      config: { face: 'v1' },
      schema: { params: IdParam, querystring: Query },
      // A signed link needs no key; without one the owner's key is required.
      onRequest: async (request, reply) => {
        const query = request.query as Static<typeof Query>;
        if (query.sig === undefined && query.expires === undefined) await keyAuth.call(app, request, reply, () => {});
      },
    },
    async (request, reply) => {
      const { expires, sig } = request.query;
      let file: FileRow;
      if (sig !== undefined || expires !== undefined) {
        if (!sig || !expires || !deps.media.verifySignature(request.params.id, expires, sig)) {
          throw new AppError('not_found', 'No such file, or the link has expired');
        }
        file = await deps.media.get(request.params.id);
      } else {
        const principal = principalOf(request);
        file = await deps.media.get(request.params.id);
        if (file.customer_id !== principal.customerId || file.mode !== principal.mode) throw new AppError('not_found', 'No such file');
      }
      return sendFile(deps, request, reply, file);
    },
  );
}
