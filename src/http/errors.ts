import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorType, type ErrorCode } from '../lib/errors.js';

/**
 * The one map from errors to each face's body (SEMANTICS E1/E2, API.md §1). Routes declare their face in
 * `config.face`; unrouted requests are classified by path.
 */
export type Face = 'v1' | 'jobs' | 'keys' | 'operator' | 'plain';

declare module 'fastify' {
  interface FastifyContextConfig {
    face?: Face;
  }
}

export function faceOf(request: FastifyRequest): Face {
  const configured = request.routeOptions?.config?.face;
  if (configured) return configured;
  const path = request.url.split('?')[0] ?? '';
  if (path.startsWith('/api/v1/')) return 'keys';
  if (path.startsWith('/api/')) return 'operator';
  if (path.startsWith('/v1/jobs') || path === '/v1/usage') return 'jobs';
  if (path.startsWith('/v1/')) return 'v1';
  return 'plain';
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
};

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function fromValidation(error: FastifyError): AppError {
  const issue = (error.validation as ValidationIssue[] | undefined)?.[0];
  const context = (error as { validationContext?: string }).validationContext ?? 'body';
  if (!issue) return new AppError('invalid_request', 'The request is invalid');
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (issue.keyword === 'additionalProperties') {
    const extra = String(issue.params.additionalProperty);
    const param = path ? `${path}.${extra}` : extra;
    return new AppError('unknown_parameter', `Unknown parameter: ${param}`, { param });
  }
  if (issue.keyword === 'required') {
    const missing = String(issue.params.missingProperty);
    const param = path ? `${path}.${missing}` : missing;
    return new AppError('invalid_request', `Missing required parameter: ${param}`, { param });
  }
  const where = path || (context === 'body' ? 'body' : context);
  return new AppError('invalid_request', `Invalid ${where}: ${issue.message ?? 'invalid value'}`, path ? { param: path } : {});
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError?.validation) return fromValidation(fastifyError);
  const mapped = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped, mapped === 'request_too_large' ? 'Request body too large' : fastifyError.message);
  if (error instanceof SyntaxError || fastifyError?.statusCode === 400) {
    return new AppError('invalid_request', 'The request body could not be parsed');
  }
  if (fastifyError?.statusCode === 415) return new AppError('unsupported_media_type', 'Unsupported content type');
  return new AppError('internal_error', 'An internal error occurred');
}

export function errorBody(face: Face, error: AppError, requestId: string): unknown {
  if (face === 'keys') return { detail: error.message };
  const body = {
    error: {
      message: error.message,
      type: errorType(error.status),
      code: error.code,
      ...(error.param === undefined ? {} : { param: error.param }),
      request_id: requestId,
    },
  };
  return face === 'jobs' ? { ok: false, ...body } : body;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const appError = toAppError(error);
  if (appError.status >= 500) {
    request.log.error({ err: error }, 'request failed');
  }
  for (const [name, value] of Object.entries(appError.headers)) reply.header(name, value);
  if (appError.retryAfter !== undefined) reply.header('Retry-After', String(appError.retryAfter));
  return reply.status(appError.status).type('application/json').send(errorBody(faceOf(request), appError, request.id));
}
