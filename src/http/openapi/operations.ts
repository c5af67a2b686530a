import type { Face } from '../errors.js';

/**
 * What the OpenAPI document (document.ts) says about each face and route beyond the route's own schema: the face's
 * authentication and error body, one-line summaries, and the error statuses a route can answer besides the ones
 * every route of its face has. A route may carry its own `schema.summary` / `schema.description`, which win; a
 * route with neither still appears, with a summary made from its method and path.
 */
export interface FaceInfo {
  title: string;
  description: string;
  /** Names in `components.securitySchemes`; any one of them is enough. Empty = no authentication. */
  security: string[];
  /** Name in `components.schemas` of the error body. */
  errorSchema: 'Error' | 'JobsError' | 'KeysError';
}

export const FACES: Record<Face, FaceInfo> = {
  v1: {
    title: 'Native and OpenAI-compatible API',
    description: 'The customer API under /v1 (API.md §4, §6, §9). A customer API key, as a bearer token or in X-API-Key (both present must match).',
    security: ['apiKeyBearer', 'apiKeyHeader'],
    errorSchema: 'Error',
  },
  jobs: {
    title: 'Jobs API',
    description: 'Jobs-style generation with a required Idempotency-Key, and usage (API.md §3, §5). Errors add "ok": false.',
    security: ['apiKeyBearer', 'apiKeyHeader'],
    errorSchema: 'JobsError',
  },
  keys: {
    title: 'Key self-service',
    description: 'A customer manages its own API keys and callback secret (API.md §7, §9). Errors are {"detail": "…"}.',
    security: ['apiKeyBearer', 'apiKeyHeader'],
    errorSchema: 'KeysError',
  },
  operator: {
    title: 'Operator API',
    description: 'Customers, keys, credits, channels, accounts, catalogue and audit (API.md §8). Only the operator key.',
    security: ['operatorBearer'],
    errorSchema: 'Error',
  },
  plain: {
    title: 'Public',
    description: 'No key: health, metrics, the price list, this reference and upstream callbacks (API.md §10, §11).',
    security: [],
    errorSchema: 'Error',
  },
};

/** Routes that accept something other than (or besides) their face's credential. */
export const SECURITY_OVERRIDES: Record<string, { alternatives: string[]; note: string }> = {
  'GET /v1/files/:id/content': { alternatives: ['apiKeyBearer', 'apiKeyHeader', ''], note: 'A signed link (?expires=…&sig=…) replaces the key.' },
  'POST /webhooks/upstream/:channel/:token': { alternatives: [], note: 'Authenticated by the signed token in its path.' },
};

export const SUMMARIES: Record<string, string> = {
  'GET /healthz': 'Liveness probe',
  'GET /readyz': 'Readiness probe (database and migrations)',
  'GET /metrics': 'Prometheus metrics',
  'GET /models': 'Public price list (HTML)',
  'GET /api/pricing': 'Public price list (JSON)',
  'GET /openapi.json': 'This OpenAPI 3.1 document',
  'GET /docs': 'API reference (HTML)',
  'GET /v1/usage': 'Wallet balance and usage per model, or grouped by day, model or key (JSON or CSV)',
  'POST /v1/videos': 'Create a video (native / OpenAI Videos)',
  'GET /v1/videos': 'List video tasks',
  'GET /v1/videos/:id': 'Get a video task',
  'DELETE /v1/videos/:id': 'Cancel a video task or delete its files',
  'GET /v1/videos/:id/content': 'Download a finished video',
  'POST /v1/images/generations': 'Generate images (OpenAI Images)',
  'POST /v1/music/generations': 'Generate music',
  'GET /v1/tasks': 'List tasks',
  'GET /v1/tasks/:id': 'Get a task',
  'POST /v1/tasks/:id/cancel': 'Cancel a task',
  'GET /v1/models': 'List the models this key may use',
  'GET /v1/models/:id': 'Get a model',
  'POST /v1/quotes': 'Price a request without running it',
  'GET /v1/files/:id/content': 'Download a result file',
  'POST /v1/chat/completions': 'Chat completion (OpenAI-compatible)',
  'POST /v1/embeddings': 'Embeddings (OpenAI-compatible)',
  'POST /v1/images/generate': 'Start an image job',
  'POST /v1/videos/generate': 'Start a video job',
  'GET /v1/jobs/:jobId': 'Get a job',
  'GET /v1/jobs/:jobId/result': 'Get a finished job\'s result',
  'POST /v1/video/generations': 'Create a video (new-api shape)',
  'GET /v1/video/generations/:task_id': 'Get a video (new-api shape)',
  'POST /v1/webhook-endpoints': 'Register a webhook endpoint',
  'GET /v1/webhook-endpoints': 'List webhook endpoints',
  'GET /v1/webhook-endpoints/:id': 'Get a webhook endpoint',
  'DELETE /v1/webhook-endpoints/:id': 'Delete a webhook endpoint',
  'POST /v1/webhook-endpoints/:id/rotate-secret': 'Rotate a webhook endpoint\'s secret',
  'GET /api/v1/webhook-secret': 'Get the callback signing secret',
  'POST /api/v1/webhook-secret/rotate': 'Rotate the callback signing secret',
  'POST /api/v1/auth/api-keys': 'Create an API key',
  'GET /api/v1/auth/api-keys': 'List API keys',
  'DELETE /api/v1/auth/api-keys/:id': 'Revoke an API key',
  'POST /api/v1/auth/api-keys/:id/rotate': 'Rotate an API key',
  'POST /api/public/customers': 'Create a customer',
  'GET /api/public/customers': 'List customers',
  'GET /api/public/customers/:id': 'Get a customer',
  'PATCH /api/public/customers/:id': 'Update a customer',
  'POST /api/public/customers/:id/api-keys': 'Create a customer API key',
  'GET /api/public/customers/:id/api-keys': 'List a customer\'s API keys',
  'DELETE /api/public/customers/:id/api-keys/:keyId': 'Revoke a customer API key',
  'POST /api/public/customers/:id/api-keys/:keyId/rotate': 'Rotate a customer API key',
  'POST /api/public/customers/:id/credits': 'Grant or adjust credits',
  'GET /api/public/customers/:id/credits': 'Wallet and ledger entries',
  'GET /api/admin/channels': 'List channels',
  'POST /api/admin/channels': 'Create a channel',
  'GET /api/admin/channels/:id': 'Get a channel',
  'PATCH /api/admin/channels/:id': 'Update a channel',
  'GET /api/accounts': 'List upstream accounts',
  'POST /api/accounts': 'Add an upstream account',
  'PATCH /api/accounts/:id': 'Update an upstream account',
  'DELETE /api/accounts/:id': 'Disable an upstream account and wipe its secret',
  'POST /api/accounts/:id/test': 'Test an upstream account',
  'GET /api/admin/audit': 'Audit log',
  'GET /api/admin/models': 'List catalogue models (disabled included)',
  'POST /api/admin/models': 'Add a catalogue model',
  'GET /api/admin/models/:id': 'Get a catalogue model',
  'PATCH /api/admin/models/:id': 'Update a model (a pricing change is a new price version)',
  'DELETE /api/admin/models/:id': 'Delete a model not in use',
  'GET /api/admin/models/:id/prices': 'List a model\'s price versions',
  'GET /api/admin/groups': 'List customer groups',
  'POST /api/admin/groups': 'Create a customer group',
  'PATCH /api/admin/groups/:id': 'Update a customer group (name, price percent)',
  'GET /api/admin/tasks': 'List every customer\'s tasks',
  'GET /api/admin/tasks/:id': 'Get a task with its operator detail',
  'POST /api/admin/tasks/:id/cancel': 'Cancel a task',
  'GET /api/admin/webhook-deliveries': 'List webhook deliveries',
  'GET /api/admin/reports/usage': 'Usage, cost and margin report (JSON or CSV)',
  'POST /api/accounts/import': 'Import upstream credentials in bulk',
  'GET /v1/webhook-deliveries': 'List webhook deliveries',
  'POST /v1/webhook-deliveries/:id/retry': 'Retry a webhook delivery',
  'POST /webhooks/upstream/:channel/:token': 'Upstream task callback',
};

/** A readable fallback for a route without a summary: `POST /api/admin/models/:id` → "POST admin models {id}". */
export function fallbackSummary(method: string, url: string): string {
  const words = url.split('/').filter((part) => part && part !== 'api' && part !== 'v1').map((part) => part.replace(/^:(.+)$/, '{$1}'));
  return `${method} ${words.join(' ') || '/'}`;
}

const GENERATION = /^POST \/v1\/(videos|images\/generations|music\/generations|images\/generate|videos\/generate|video\/generations|chat\/completions|embeddings)$/;
const SYNCHRONOUS = /^POST \/v1\/(images\/generations|chat\/completions|embeddings)$/;

/**
 * Error statuses a route can answer, from its face, method and schema: every authenticated route 401; customer
 * routes 403 (policy, scopes) and 429 (rate limits); any input 400; path ids 404; bodies 413 and 415; generation 402
 * and 503; idempotent creation and cancellation 409; synchronous generation 502; everything may answer 500.
 */
export function errorStatuses(label: string, face: Face, hasInput: boolean, hasPathParams: boolean, security: string[]): number[] {
  const [method] = label.split(' ');
  const statuses = new Set<number>([500]);
  if (hasInput) statuses.add(400);
  if (security.length > 0) statuses.add(401);
  if (face === 'v1' || face === 'jobs' || face === 'keys') {
    statuses.add(403);
    statuses.add(429);
  }
  if (hasPathParams) statuses.add(404);
  if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
    statuses.add(400);
    statuses.add(413);
    statuses.add(415);
  }
  if (GENERATION.test(label)) [402, 409, 503].forEach((status) => statuses.add(status));
  if (SYNCHRONOUS.test(label)) statuses.add(502);
  if (/\/(cancel|rotate|rotate-secret)$/.test(label) || /^DELETE \/v1\/videos/.test(label) || face === 'operator' && method !== 'GET') statuses.add(409);
  if (/^GET \/v1\/jobs\/:jobId\/result$/.test(label)) statuses.add(409);
  return [...statuses].sort((a, b) => a - b);
}
