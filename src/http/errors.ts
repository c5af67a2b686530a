import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorType, type ErrorCode } from '../lib/errors.js';
import { randomToken } from '../lib/ids.js';
import type { CommitScope } from '../db/commit-tracker.js';

/**
 * The one map from errors to each face's body (SEMANTICS E1/E2, API.md §1). Routes declare their face in
 * `config.face`; unrouted requests are classified by path.
 */
export type Face = 'v1' | 'jobs' | 'keys' | 'operator' | 'plain';

declare module 'fastify' {
  interface FastifyContextConfig {
    face?: Face;
  }
  interface FastifyRequest {
    /** Whether this request has committed a change (db/commit-tracker.ts). */
    commits?: CommitScope;
  }
}

export function faceOf(request: FastifyRequest): Face {
  const configured = request.routeOptions?.config?.face;
  if (configured) return configured;
  return faceOfPath(request.url.split('?')[0] ?? '');
}

/** The face a path's prefix implies (unrouted requests, and routes that declare none). */
export function faceOfPath(path: string): Face {
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
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_MAX_PARAM_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE_FOR_MULTIPART: 'request_too_large',
  // @fastify/multipart: limits and malformed parts.
  FST_REQ_FILE_TOO_LARGE: 'request_too_large',
  FST_PARTS_LIMIT: 'request_too_large',
  FST_FILES_LIMIT: 'request_too_large',
  FST_FIELDS_LIMIT: 'request_too_large',
  FST_PROTO_VIOLATION: 'invalid_request',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_INVALID_JSON_FIELD_ERROR: 'invalid_request',
};

const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is malformed (invalid percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is longer than 100 characters',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body too large',
  FST_REQ_FILE_TOO_LARGE: 'An uploaded file is too large',
  FST_PARTS_LIMIT: 'Too many parts in the multipart body',
  FST_FILES_LIMIT: 'Too many files in the multipart body',
  FST_FIELDS_LIMIT: 'Too many fields in the multipart body',
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
  if (mapped) return new AppError(mapped, FASTIFY_MESSAGES[fastifyError.code] ?? (mapped === 'request_too_large' ? 'Request body too large' : fastifyError.message));
  // Backstops behind the edge checks: the database refusing an amount outside the exact range (migration 0007) or
  // arithmetic past bigint is the request's doing, and nothing was committed (the statement failed).
  const database = error as { code?: string; constraint?: string; message?: string };
  if (database?.code === '22003' || (database?.code === '23514' && /_json_safe/.test(`${database.constraint ?? ''} ${database.message ?? ''}`))) {
    return new AppError('invalid_request', 'An amount or balance would leave the range of ±9007199254740991 credits');
  }
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
  reply.header('X-Request-Id', request.id);
  for (const [name, value] of Object.entries(appError.headers)) reply.header(name, value);
  if (appError.retryAfter !== undefined) reply.header('Retry-After', String(appError.retryAfter));
  return reply.status(appError.status).type('application/json').send(errorBody(faceOf(request), appError, request.id));
}

/**
 * Requests Node's HTTP parser refuses never become Fastify requests; they still get the documented body and an
 * `X-Request-Id`, on a connection that is then closed.
 */
export function sendClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const requestId = `req_${randomToken(16)}`;
  const appError = error.code === 'HPE_HEADER_OVERFLOW'
    ? new AppError('request_too_large', 'Request headers too large', { status: 431 })
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('invalid_request', 'The request was not received in time', { status: 408 })
      : new AppError('invalid_request', 'The request is malformed');
  const body = JSON.stringify(errorBody('v1', appError, requestId));
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[appError.status] ?? 'Bad Request';
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
