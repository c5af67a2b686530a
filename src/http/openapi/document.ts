import type { FastifySchema } from 'fastify';
import { ERROR_STATUS } from '../../lib/errors.js';
import { faceOfPath, type Face } from '../errors.js';
import { FACES, SECURITY_OVERRIDES, SUMMARIES, errorStatuses, fallbackSummary } from './operations.js';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the API reference (`/openapi.json`, `/docs`); operations.ts has the fallbacks. */
    summary?: string;
    description?: string;
  }
}

/** What the document needs of a registered route: the app's `routeTable` entries (server.ts). */
export interface DocumentedRoute {
  method: string;
  url: string;
  face: Face | undefined;
  schema?: FastifySchema | undefined;
}

type Json = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of every registered route (API.md §11), generated from the route table: paths, path /
 * query / header parameters and request bodies from each route's TypeBox schema (JSON Schema 2020-12, which OpenAPI
 * 3.1 uses as is), the face's security scheme and error body, summaries from operations.ts. A route registered by
 * any file appears without touching this one.
 */
const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request', 401: 'Missing or invalid credential', 402: 'Not enough credits', 403: 'Not allowed',
  404: 'Not found', 409: 'Conflict', 413: 'Request too large', 415: 'Unsupported media type', 429: 'Too many requests',
  500: 'Internal error', 502: 'Upstream failure', 503: 'No capacity',
};

const SUCCESS_CONTENT: Record<string, string> = {
  'GET /models': 'text/html',
  'GET /docs': 'text/html',
  'GET /metrics': 'text/plain',
  'GET /v1/videos/:id/content': 'video/mp4',
  'GET /v1/files/:id/content': 'application/octet-stream',
};

/** Routes that honour `Idempotency-Key` (API.md §2.3); `true` = required. */
const IDEMPOTENT: Record<string, boolean> = {
  'POST /v1/images/generate': true,
  'POST /v1/videos/generate': true,
  'POST /v1/videos': false,
  'POST /v1/images/generations': false,
  'POST /v1/music/generations': false,
  'POST /v1/video/generations': false,
  'POST /v1/webhook-endpoints': false,
};

/** Error codes by status, from the closed set in lib/errors.ts. */
export function codesByStatus(): Map<number, string[]> {
  const map = new Map<number, string[]>();
  for (const [code, status] of Object.entries(ERROR_STATUS)) map.set(status, [...(map.get(status) ?? []), code]);
  return map;
}

/** `/v1/videos/:id` → `/v1/videos/{id}` (regular-expression constraints dropped, `*` named `wildcard`). */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?/g, '{$1}').replace(/\*$/, '{wildcard}');
}

function pathParamNames(url: string): string[] {
  const names = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]!);
  return url.endsWith('*') ? [...names, 'wildcard'] : names;
}

/** A TypeBox schema as plain JSON Schema (symbols and functions dropped). */
function plain(schema: unknown): Json {
  return schema && typeof schema === 'object' ? (JSON.parse(JSON.stringify(schema)) as Json) : {};
}

function objectParameters(schema: unknown, location: 'query' | 'header'): Json[] {
  const object = plain(schema);
  const properties = (object.properties ?? {}) as Record<string, Json>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

function requestBody(label: string, schema: FastifySchema | undefined): Json | undefined {
  if (!schema?.body) return undefined;
  const body = plain(schema.body);
  const content: Json = {};
  if (body.content && typeof body.content === 'object' && !('type' in body)) {
    for (const [type, entry] of Object.entries(body.content as Record<string, Json>)) content[type] = { schema: entry.schema ?? {} };
  } else {
    content['application/json'] = { schema: body };
  }
  // POST /v1/videos also reads multipart (fields as form fields, files as input_reference): same schema (API.md §4).
  if (label === 'POST /v1/videos' && content['application/json']) content['multipart/form-data'] = content['application/json'];
  const required = ((content['application/json'] as Json | undefined)?.schema as Json | undefined)?.required;
  return { required: Array.isArray(required) && required.length > 0, content };
}

function securityOf(label: string, face: Face): { requirement: Json[]; names: string[]; note?: string } {
  const override = SECURITY_OVERRIDES[label];
  const names = override ? override.alternatives : FACES[face].security;
  const requirement = names.map((name) => (name === '' ? {} : { [name]: [] }));
  return { requirement, names: names.filter(Boolean), ...(override ? { note: override.note } : {}) };
}

function operation(route: DocumentedRoute, operationIds: Set<string>, codes: Map<number, string[]>): Json {
  const label = `${route.method} ${route.url}`;
  const face = route.face ?? faceOfPath(route.url);
  const schema = route.schema;
  const paramSchema = plain(schema?.params);
  const paramProperties = (paramSchema.properties ?? {}) as Record<string, Json>;
  const names = pathParamNames(route.url);
  const parameters: Json[] = names.map((name) => ({ name, in: 'path', required: true, schema: paramProperties[name] ?? { type: 'string' } }));
  parameters.push(...objectParameters(schema?.querystring, 'query'), ...objectParameters(schema?.headers, 'header'));
  if (label in IDEMPOTENT) {
    parameters.push({
      name: 'Idempotency-Key', in: 'header', required: IDEMPOTENT[label],
      description: '1–255 characters of A–Z a–z 0–9 . _ : - (API.md §2.3)',
      schema: { type: 'string', minLength: 1, maxLength: 257 },
    });
  }
  const body = requestBody(label, schema);
  const security = securityOf(label, face);
  const statuses = errorStatuses(label, face, parameters.length > 0 || body !== undefined, names.length > 0, security.names);
  const errorRef = { $ref: `#/components/schemas/${FACES[face].errorSchema}` };
  const responses: Json = {
    [route.method === 'GET' ? '200' : '2XX']: {
      description: 'Success',
      content: { [SUCCESS_CONTENT[label] ?? 'application/json']: { schema: {} } },
    },
  };
  if (label === 'GET /api/pricing' || label === 'GET /models') responses['304'] = { description: 'Not modified (If-None-Match matched the ETag)' };
  for (const status of statuses) {
    const known = codes.get(status) ?? [];
    responses[String(status)] = {
      description: `${STATUS_TEXT[status] ?? 'Error'}${known.length ? ` — error codes: ${known.join(', ')}` : ''}`,
      content: { 'application/json': { schema: errorRef } },
    };
  }
  let operationId = `${route.method.toLowerCase()}_${route.url.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}` || route.method.toLowerCase();
  while (operationIds.has(operationId)) operationId += '_';
  operationIds.add(operationId);
  const description = [schema?.description, security.note].filter(Boolean).join(' ');
  return {
    operationId,
    summary: schema?.summary ?? SUMMARIES[label] ?? fallbackSummary(route.method, route.url),
    ...(description ? { description } : {}),
    tags: [face],
    'x-face': face,
    security: security.requirement,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

const ERROR_OBJECT: Json = {
  type: 'object',
  required: ['message', 'type', 'code', 'request_id'],
  properties: {
    message: { type: 'string' },
    type: { type: 'string', description: 'Follows the status: invalid_request_error, authentication_error, billing_error, …' },
    code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
    param: { type: 'string', description: 'The one field or header at fault, when there is one' },
    request_id: { type: 'string', description: 'Equals the X-Request-Id header' },
  },
};

export interface DocumentOptions {
  baseUrl: string;
  version: string;
}

export function buildOpenApiDocument(routes: DocumentedRoute[], options: DocumentOptions): Json {
  const paths: Record<string, Json> = {};
  const operationIds = new Set<string>();
  const codes = codesByStatus();
  for (const route of routes) {
    if (route.method === 'HEAD' || route.method === 'OPTIONS') continue;
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = operation(route, operationIds, codes);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'genrelay API',
      version: options.version,
      summary: 'AI generation behind one API key and one prepaid credit wallet',
      description: 'Every route of every face. Rules and shapes: docs/API.md. Reference page: /docs; price list: /models.',
    },
    servers: [{ url: options.baseUrl }],
    tags: (Object.keys(FACES) as Face[]).map((face) => ({ name: face, description: `${FACES[face].title}. ${FACES[face].description}` })),
    paths,
    components: {
      securitySchemes: {
        apiKeyBearer: { type: 'http', scheme: 'bearer', description: 'A customer API key: `Authorization: Bearer KEY`' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'A customer API key in `X-API-Key` (must match a bearer key sent too)' },
        operatorBearer: { type: 'http', scheme: 'bearer', description: 'The operator key: `Authorization: Bearer $OPERATOR_API_KEY` (customer keys are refused)' },
      },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: ERROR_OBJECT }, description: 'v1, operator and public faces' },
        JobsError: { type: 'object', required: ['ok', 'error'], properties: { ok: { const: false }, error: ERROR_OBJECT }, description: 'Jobs face' },
        KeysError: { type: 'object', required: ['detail'], properties: { detail: { type: 'string' } }, description: 'Key self-service face' },
      },
    },
  };
}
