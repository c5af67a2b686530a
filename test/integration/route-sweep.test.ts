import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/http/server.js';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { OPERATOR_KEY, type TestResponse } from '../harness/app.js';
import { runLiveUntilDone, runUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';
import { enrolledAdmin } from '../harness/console.js';

/**
 * The authentication and ownership sweep (issue 9), generated from the app's own route table: a route added later is
 * swept without touching this file, and a route this file cannot place fails the first test until it is placed.
 *
 * - Customer routes (faces v1, jobs, keys): no key → 401 with the face's body (v1 `{error}`, jobs `{ok:false, error}`,
 *   keys `{detail}`); for every id parameter, another customer's object (either mode) and the caller's own object of
 *   the other mode → 404 not_found, answered exactly like an unknown id (SEMANTICS K11, E3). The same call with the
 *   owner's key of the object's mode must succeed, so a 404 always means "not yours", never "wrong fixture".
 * - Operator routes (`/api/public/*`, `/api/admin/*`, `/api/accounts*`): no key and a customer key → 401; an
 *   unknown id → 404, another customer's child id under a customer → 404.
 * - Anything else is an explicit exception below, with its reason and the check that stands in for the sweep.
 *
 * The objects are real: for two customers and both modes, finished video, image and music tasks (test mode on the
 * sandbox, live mode through the mock upstreams), the video's result file, a webhook endpoint and an API key; and
 * the operator's customers, channels and accounts.
 */
// USDT on one EVM address, so top-up orders exist (creating one reads no chain).
const ctx = useTestApp({ env: { USDT_EVM_ADDRESSES: '0x2222222222222222222222222222222222222222', EVM_RPC_URL: 'http://127.0.0.1:9/evm' } });

type Mode = 'test' | 'live';
const MODES: Mode[] = ['test', 'live'];
const other = (mode: Mode): Mode => (mode === 'test' ? 'live' : 'test');

/** Objects a customer owns, per mode. */
const OWNED_KINDS = ['video', 'task', 'job', 'file', 'webhook_endpoint', 'webhook_delivery', 'api_key'] as const;
type OwnedKind = (typeof OWNED_KINDS)[number];
/**
 * Objects only the operator addresses. `customer_api_key` is a child of the `customer` in the same path; `any_task`
 * is any customer's task as the operator's task routes name it (no owner check: the operator sees every customer).
 */
const OPERATOR_KINDS = ['customer', 'customer_api_key', 'channel', 'account', 'any_task', 'catalogue_model', 'customer_group', 'any_topup', 'payment_exception'] as const;
/**
 * `catalogue_model` and `customer_group` are the operator's catalogue and group ids (issue 10): like `/v1/models/:id`
 * they belong to no customer, so there is no ownership to check; an unknown one is 404 and a real one gets through.
 * Their unknown ids are named, not derived (they have no random suffix to zero).
 */
const UNKNOWN_NAMED: Partial<Record<OperatorKind, string>> = { catalogue_model: 'no-such-model', customer_group: 'no-such-group' };
type OperatorKind = (typeof OPERATOR_KINDS)[number];
/** Ids every customer shares: no owner, so no ownership check; an unknown one is still 404. */
const SHARED_KINDS = {
  model: 'catalogue ids are the same for every customer and mode; the key\'s allow-list decides visibility (faces-native.test.ts)',
} as const;
type SharedKind = keyof typeof SHARED_KINDS;
type Kind = OwnedKind | OperatorKind | SharedKind;

/** Which object each path parameter names, by route url (first match wins; prefixes, so sub-routes follow). */
const PARAM_KINDS: Array<{ url: RegExp; param: string; kind: Kind }> = [
  { url: /^\/v1\/videos\/:id(\/|$)/, param: 'id', kind: 'video' },
  { url: /^\/v1\/video\/generations\/:task_id(\/|$)/, param: 'task_id', kind: 'video' },
  { url: /^\/v1\/tasks\/:id(\/|$)/, param: 'id', kind: 'task' },
  { url: /^\/v1\/jobs\/:jobId(\/|$)/, param: 'jobId', kind: 'job' },
  { url: /^\/v1\/files\/:id(\/|$)/, param: 'id', kind: 'file' },
  { url: /^\/v1\/webhook-endpoints\/:id(\/|$)/, param: 'id', kind: 'webhook_endpoint' },
  { url: /^\/v1\/webhook-deliveries\/:id(\/|$)/, param: 'id', kind: 'webhook_delivery' },
  { url: /^\/api\/v1\/auth\/api-keys\/:id(\/|$)/, param: 'id', kind: 'api_key' },
  { url: /^\/v1\/models\/:id(\/|$)/, param: 'id', kind: 'model' },
  { url: /^\/api\/public\/customers\/:id(\/|$)/, param: 'id', kind: 'customer' },
  { url: /^\/api\/public\/customers\/:id\/api-keys\/:keyId(\/|$)/, param: 'keyId', kind: 'customer_api_key' },
  { url: /^\/api\/admin\/channels\/:id(\/|$)/, param: 'id', kind: 'channel' },
  { url: /^\/api\/accounts\/:id(\/|$)/, param: 'id', kind: 'account' },
  { url: /^\/api\/admin\/models\/:id(\/|$)/, param: 'id', kind: 'catalogue_model' },
  { url: /^\/api\/admin\/groups\/:id(\/|$)/, param: 'id', kind: 'customer_group' },
  { url: /^\/api\/admin\/tasks\/:id(\/|$)/, param: 'id', kind: 'any_task' },
  { url: /^\/api\/admin\/topups\/:id(\/|$)/, param: 'id', kind: 'any_topup' },
  { url: /^\/api\/admin\/payment-exceptions\/:id(\/|$)/, param: 'id', kind: 'payment_exception' },
];

/**
 * Where the other mode's object is not a 404 by design. A live key manages all of its customer's keys, test keys
 * included; only a test key is confined to test keys (SEMANTICS K11, keys-face.test.ts). Checked the other way: the
 * live key acting on a fresh test key succeeds.
 */
const MODE_EXCEPTIONS: Array<{ kind: OwnedKind; callerMode: Mode; reason: string }> = [
  { kind: 'api_key', callerMode: 'live', reason: 'a live key manages the customer\'s test keys too (K11)' },
];

/** Registered routes outside the sweep, with why and what is checked instead. */
const EXCEPTIONS: Record<string, { reason: string; check: () => Promise<void> }> = {
  'GET /healthz': { reason: 'liveness probe, public by design', check: () => answersWithoutKey('/healthz') },
  'GET /readyz': { reason: 'readiness probe, public by design', check: () => answersWithoutKey('/readyz') },
  'GET /metrics': { reason: 'Prometheus scrape endpoint, public by design (bind it to a private network)', check: () => answersWithoutKey('/metrics') },
  // Public, no key (issue 10, API.md §11): the price list and the API reference; public-pricing.test.ts and
  // openapi.test.ts check their content. A key sent anyway changes nothing.
  'GET /models': { reason: 'public price list page, no key by design', check: () => answersWithoutKey('/models', true) },
  'GET /api/pricing': { reason: 'public price list as JSON, no key by design', check: () => answersWithoutKey('/api/pricing', true) },
  'GET /openapi.json': { reason: 'public OpenAPI document, no key by design', check: () => answersWithoutKey('/openapi.json', true) },
  'GET /docs': { reason: 'public API reference page, no key by design', check: () => answersWithoutKey('/docs', true) },
  // The operator console's pages (issue 11, API.md §12): a static single-page app, public like any web page; the
  // data it shows comes from /admin/api, which takes a console session (swept below as the `console` audience).
  'GET /admin': { reason: 'operator console page (static single-page app), public by design', check: () => consolePage('/admin') },
  'GET /admin/*': { reason: 'operator console pages and assets (static), public by design', check: () => consolePage('/admin/customers') },
  // The customer console's pages (issue 12, API.md §13), public like the operator console's.
  'GET /console': { reason: 'customer console page (static single-page app), public by design', check: () => consolePage('/console') },
  'GET /console/*': { reason: 'customer console pages and assets (static), public by design', check: () => consolePage('/console/keys') },
  // Top-ups (issue 13) fund the live wallet only: there are no test-mode orders for the per-mode fixtures. The same
  // rules, checked here: no key → 401; another customer's order → 404 with either of its keys; the owner's test key
  // → 404 (and an empty list); the owner's live key gets through. payments-orders.test.ts covers invalid input.
  'GET /v1/billing/topup-options': { reason: 'top-ups are live-only objects (no per-mode fixtures)', check: () => billingSweep() },
  'POST /v1/billing/topups': { reason: 'top-ups are live-only objects (no per-mode fixtures)', check: () => billingSweep() },
  'GET /v1/billing/topups': { reason: 'top-ups are live-only objects (no per-mode fixtures)', check: () => billingSweep() },
  'GET /v1/billing/topups/:id': { reason: 'top-ups are live-only objects (no per-mode fixtures)', check: () => billingSweep() },
  'POST /webhooks/upstream/:channel/:token': {
    reason: 'upstream callback: authenticated by the signed token in its path, never by a key',
    check: async () => {
      const task = await ctx.app.deps.tasks.get(fx.parties.A.objects.live.video[0]!);
      expect(task?.channel_id).toBeTruthy();
      for (const token of [`${task!.id}.forged`, `${task!.id}`, 'x']) {
        const response = await ctx.app.request('POST', `/webhooks/upstream/${task!.channel_id}/${token}`, { body: {} });
        expectNotFound('plain', response, `forged callback token ${token}`);
      }
    },
  },
  // Stripe's signed events (issue 13, SEMANTICS P11): no key, no CSRF; the Stripe-Signature header over the raw body is
  // the credential. This app has no Stripe configured, so the route is 404 to everyone; payments-stripe.test.ts checks
  // signatures, replays, the 400 bodies and the per-IP rate limit with Stripe configured.
  'POST /webhooks/stripe': {
    reason: 'Stripe webhook: authenticated by the Stripe-Signature header over the raw body, never by a key',
    check: async () => {
      for (const key of [undefined, OPERATOR_KEY, fx.parties.A.keys.live.key]) {
        expectNotFound('plain', await send('POST', '/webhooks/stripe', key, { id: 'evt_sweep', type: 'checkout.session.completed' }), 'Stripe webhook with Stripe not configured');
      }
    },
  },
};

let billingSwept: Promise<void> | null = null;
/** The /v1/billing sweep, run once for its four routes. */
function billingSweep(): Promise<void> {
  billingSwept ??= (async () => {
    const { A, B } = fx.parties;
    const order = expectCreated(await send('POST', '/v1/billing/topups', A.keys.live.key, { method: 'usdt_evm', amount: 777 }), 'top-up');
    for (const [method, path, body] of [
      ['GET', '/v1/billing/topup-options', undefined], ['GET', '/v1/billing/topups', undefined], ['GET', `/v1/billing/topups/${order.id}`, undefined],
      ['POST', '/v1/billing/topups', { method: 'usdt_evm', amount: 777 }],
    ] as const) {
      expectFaceError('v1', await send(method, path, undefined, body), 401, 'invalid_api_key', '', `${method} ${path} without a key`);
    }
    for (const key of [B.keys.live.key, B.keys.test.key, A.keys.test.key]) {
      expectNotFound('v1', await send('GET', `/v1/billing/topups/${order.id}`, key), 'another customer\'s or the test key\'s view of a live order');
      expect((await send('GET', '/v1/billing/topups', key)).body.data.map((row: { id: string }) => row.id)).not.toContain(order.id);
    }
    expectNotFound('v1', await send('GET', `/v1/billing/topups/${unknownLike(order.id)}`, A.keys.live.key), 'unknown order');
    expect((await send('GET', `/v1/billing/topups/${order.id}`, A.keys.live.key)).status).toBe(200);
    expect((await send('GET', '/v1/billing/topup-options', A.keys.live.key)).status).toBe(200);
  })();
  return billingSwept;
}

/**
 * Routes swept normally that also take another credential. The file route takes a signed link instead of a key
 * (API.md §4): a link is a capability on its own, so a forged or half link is refused like an unknown file.
 */
const ALTERNATE_AUTH: Record<string, { reason: string; check: () => Promise<void> }> = {
  'GET /v1/files/:id/content': {
    reason: 'a signed link (?expires=…&sig=…) replaces the key',
    check: async () => {
      const { B } = fx.parties;
      const result = await send('GET', `/v1/jobs/${B.objects.test.job[0]}/result`, B.keys.test.key);
      const link = new URL(result.body.url);
      expect(link.pathname).toBe(`/v1/files/${B.objects.test.file[0]}/content`);
      const signed = await ctx.app.request('GET', `${link.pathname}${link.search}`);
      expect(signed.status, 'a valid signed link needs no key').toBe(200);
      const expires = link.searchParams.get('expires')!;
      for (const query of [`?expires=${expires}&sig=forged`, `?sig=${link.searchParams.get('sig')}`, `?expires=${expires}`]) {
        expectNotFound('v1', await ctx.app.request('GET', `${link.pathname}${query}`), `file link ${query}`);
      }
      const otherFile = fx.parties.A.objects.test.file[0]!;
      expectNotFound('v1', await ctx.app.request('GET', `/v1/files/${otherFile}/content${link.search}`), 'another file\'s signature');
    },
  },
};

/** Valid bodies for the routes with an id that need one, so the id (not validation) decides the answer. */
const BODIES: Record<string, Record<string, unknown>> = {
  'PATCH /api/public/customers/:id': { name: 'Renamed by the sweep' },
  'POST /api/public/customers/:id/api-keys': { name: 'sweep', mode: 'test' },
  'POST /api/public/customers/:id/credits': { amount: 1, reason: 'sweep', mode: 'test' },
  'PATCH /api/admin/channels/:id': { weight: 2 },
  'PATCH /api/accounts/:id': { label: 'sweep' },
  'PATCH /api/admin/models/:id': { sort_order: 7 },
  'PATCH /api/admin/groups/:id': { name: 'Renamed by the sweep' },
  'POST /api/admin/payment-exceptions/:id/resolve': { action: 'dismissed', note: 'sweep' },
};

/**
 * The console's own JSON routes (issue 11, API.md §12) and what they need: `public` opens a pre-session; a
 * `sign-in step` needs the pre-session's CSRF token (403 csrf_failed without one); `signed in` needs an authenticated
 * session (401 unauthenticated). The operator routes mounted again under /admin/api are `signed in` and are placed
 * automatically (each must be the twin of a registered /api/ operator route).
 */
const CONSOLE_OWN: Record<string, ConsoleAccess> = {
  'GET /admin/api/auth/session': 'public',
  'POST /admin/api/auth/login': 'sign-in step',
  'POST /admin/api/auth/totp': 'sign-in step',
  'POST /admin/api/auth/logout': 'sign-in step',
  'POST /admin/api/auth/enroll/start': 'sign-in step',
  'POST /admin/api/auth/enroll/finish': 'sign-in step',
  'POST /admin/api/auth/password': 'signed in',
  'GET /admin/api/admins': 'signed in',
  'POST /admin/api/admins': 'signed in',
  'PATCH /admin/api/admins/:id': 'signed in',
  'POST /admin/api/admins/:id/reset-totp': 'signed in',
  'GET /admin/api/sessions': 'signed in',
  'DELETE /admin/api/sessions/:id': 'signed in',
};
type ConsoleAccess = 'public' | 'sign-in step' | 'signed in';
/** Console objects: an unknown one is 404 for a signed-in owner (ownership of sessions: admin-management.test.ts). */
const CONSOLE_UNKNOWN: Record<string, string> = { 'admins/:id': 'adm_0000000000000000000000', 'sessions/:id': 'ses_0000000000000000000000' };
const CONSOLE_BODIES: Record<string, Record<string, unknown>> = { 'PATCH /admin/api/admins/:id': { role: 'viewer' } };
const MOUNT_PREFIX = '/admin';
const CUSTOMER_CONSOLE_API = '/console/api';

interface Classified {
  route: RouteEntry;
  label: string;
  audience: 'customer' | 'operator' | 'console';
  params: Array<{ name: string; kind: Kind }>;
  /** Console routes: what they need, and (for the /admin/api mount) the /api/ route they repeat. */
  access?: ConsoleAccess;
  twin?: string;
}

const CUSTOMER_FACES = new Set(['v1', 'jobs', 'keys']);

function paramsOf(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1]!);
}

function kindOf(url: string, param: string): Kind | undefined {
  return PARAM_KINDS.find((entry) => entry.param === param && entry.url.test(url))?.kind;
}

function isOwned(kind: Kind): kind is OwnedKind {
  return (OWNED_KINDS as readonly string[]).includes(kind);
}

function isOperatorKind(kind: Kind): kind is OperatorKind {
  return (OPERATOR_KINDS as readonly string[]).includes(kind);
}

/** Places every route, or says why it cannot: the sweep refuses to run past a route it does not understand. */
function classify(routes: RouteEntry[]): { swept: Classified[]; excepted: string[]; delegated: string[]; problems: string[] } {
  const swept: Classified[] = [];
  const excepted: string[] = [];
  const delegated: string[] = [];
  const problems: string[] = [];
  for (const route of routes) {
    const label = `${route.method} ${route.url}`;
    if (EXCEPTIONS[label]) {
      excepted.push(label);
      continue;
    }
    // The customer console's JSON (issue 12) has its own generated sweep, which fails on any route it cannot place:
    // customer-console-sweep.test.ts (session, ownership 404s, roles, invalid input).
    if (route.url.startsWith(`${CUSTOMER_CONSOLE_API}/`)) {
      delegated.push(label);
      continue;
    }
    if (route.url.startsWith(`${MOUNT_PREFIX}/api/`)) {
      const bare = route.url.slice(MOUNT_PREFIX.length);
      const twin = `${route.method} ${bare}`;
      const mounted = route.face === 'operator' && /^\/api\/(public\/|admin\/|accounts(\/|$))/.test(bare) && routes.some((other) => `${other.method} ${other.url}` === twin);
      if (mounted) {
        const params = paramsOf(route.url).map((name) => ({ name, kind: kindOf(bare, name)! }));
        swept.push({ route, label, audience: 'console', params, access: 'signed in', twin });
      } else if (CONSOLE_OWN[label] && route.face === 'operator') {
        swept.push({ route, label, audience: 'console', params: [], access: CONSOLE_OWN[label] });
      } else {
        problems.push(`${label} (face ${route.face}): a console route that is neither a mounted operator route nor in CONSOLE_OWN — classify it in route-sweep.test.ts`);
      }
      continue;
    }
    const customer = (route.url.startsWith('/api/v1/') ? route.face === 'keys' : route.url.startsWith('/v1/') && route.face !== 'keys') && CUSTOMER_FACES.has(route.face ?? '');
    const operator = /^\/api\/(public\/|admin\/|accounts(\/|$))/.test(route.url) && route.face === 'operator';
    if (!customer && !operator) {
      problems.push(`${label} (face ${route.face}): not a customer or operator route and not in EXCEPTIONS — classify it in route-sweep.test.ts`);
      continue;
    }
    const params: Classified['params'] = [];
    for (const name of paramsOf(route.url)) {
      const kind = kindOf(route.url, name);
      if (!kind) problems.push(`${label}: no PARAM_KINDS entry says what :${name} names`);
      else if (customer && isOperatorKind(kind)) problems.push(`${label}: :${name} is an operator object (${kind}) on a customer route`);
      else if (operator && !isOperatorKind(kind)) problems.push(`${label}: :${name} is a customer object (${kind}) on an operator route`);
      else params.push({ name, kind });
    }
    swept.push({ route, label, audience: customer ? 'customer' : 'operator', params });
  }
  const labels = new Set(routes.map((route) => `${route.method} ${route.url}`));
  for (const label of [...Object.keys(EXCEPTIONS), ...Object.keys(ALTERNATE_AUTH), ...Object.keys(BODIES), ...Object.keys(CONSOLE_OWN)]) {
    if (!labels.has(label)) problems.push(`${label}: listed in route-sweep.test.ts but not registered (stale entry)`);
  }
  for (const entry of PARAM_KINDS) {
    if (!routes.some((route) => entry.url.test(route.url) && paramsOf(route.url).includes(entry.param))) {
      problems.push(`PARAM_KINDS ${entry.url} :${entry.param} matches no registered route (stale entry)`);
    }
  }
  return { swept, excepted, delegated, problems };
}

function pathOf(url: string, values: Record<string, string>): string {
  return url.replace(/:([A-Za-z_]+)/g, (_, name: string) => encodeURIComponent(values[name]!));
}

/** An id of the same shape that names nothing: the random part zeroed. */
function unknownLike(id: string): string {
  return id.replace(/_([0-9A-Za-z]+)$/, (_, random: string) => `_${'0'.repeat(random.length)}`);
}

function withoutRequestId(body: any): unknown {
  if (!body || typeof body !== 'object' || !body.error) return body;
  return { ...body, error: { ...body.error, request_id: null } };
}

/** The documented error body of each face (API.md §1, SEMANTICS E1/E2). */
function expectFaceError(face: string, response: TestResponse, status: number, code: string, detail: string, label: string): void {
  expect(response.status, `${label}: ${response.text.slice(0, 300)}`).toBe(status);
  if (face === 'keys') {
    expect(response.body, label).toEqual({ detail: expect.any(String) });
    if (detail) expect(response.body.detail, label).toBe(detail);
    return;
  }
  expect(Object.keys(response.body).sort(), label).toEqual(face === 'jobs' ? ['error', 'ok'] : ['error']);
  if (face === 'jobs') expect(response.body.ok, label).toBe(false);
  expect(response.body.error, label).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
  expect(response.body.error.request_id, label).toBe(response.headers.get('x-request-id'));
  if (detail) expect(response.body.error.message, label).toBe(detail);
}

function expectNotFound(face: string, response: TestResponse, label: string): void {
  expectFaceError(face, response, 404, 'not_found', '', label);
}

async function answersWithoutKey(path: string, sameWithAnyKey = false): Promise<void> {
  const response = await ctx.app.request('GET', path);
  expect(response.status, `${path}: ${response.text.slice(0, 200)}`).toBe(200);
  if (!sameWithAnyKey) return;
  for (const key of [OPERATOR_KEY, fx.parties.A.keys.live.key, 'not-a-key']) {
    const keyed = await send('GET', path, key);
    expect(keyed.status, `${path} with a key`).toBe(200);
    expect(keyed.text, `${path} with a key`).toBe(response.text);
  }
}

/** A console page answers anyone (the built app, or the 503 page saying how to build it), the same with any key. */
async function consolePage(path: string): Promise<void> {
  const response = await ctx.app.request('GET', path);
  expect([200, 503], `${path}: ${response.text.slice(0, 200)}`).toContain(response.status);
  expect(response.headers.get('content-type'), path).toMatch(/^text\/html/);
  expect(response.headers.get('content-security-policy'), path).toBe("default-src 'self'; frame-ancestors 'none'");
  for (const key of [OPERATOR_KEY, fx.parties.A.keys.live.key]) expect((await send('GET', path, key)).text, `${path} with a key`).toBe(response.text);
}

interface Party {
  customerId: string;
  keys: Record<Mode, { id: string; key: string }>;
  objects: Record<Mode, Record<OwnedKind, string[]>>;
}

interface Fixtures {
  parties: { A: Party; B: Party };
  channelId: string;
  accountId: string;
}

const GROUP = 'sweep';
const MODELS = { video: 'seedance-2.0-fast', image: 'gpt-image-2', music: 'suno-v5' };
let fx: Fixtures;
let mocks: RunningMock;
let receiver: Server;
let hookUrl = '';

async function send(method: string, path: string, key: string | undefined, body?: Record<string, unknown>): Promise<TestResponse> {
  return ctx.app.request(method, path, { ...(key === undefined ? {} : { key }), ...(body ? { body } : {}) });
}

function expectCreated(response: TestResponse, label: string): any {
  expect(response.status, `${label}: ${response.text.slice(0, 300)}`).toBeLessThan(300);
  return response.body;
}

async function createChannel(group: string): Promise<{ channelId: string; accountId: string }> {
  const channel = expectCreated(
    await ctx.app.request('POST', '/api/admin/channels', {
      operator: true,
      body: { name: `ark ${group}`, provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { [MODELS.video]: 'dreamina-seedance-2-0-fast-260128' }, group },
    }),
    'channel',
  );
  const account = expectCreated(await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.id, credential: 'mock-key' } }), 'account');
  return { channelId: channel.id, accountId: account.id };
}

/** A task of each type, started with the key of `mode`; not yet run. */
async function startTasks(key: string): Promise<{ video: string; image: string; music: string }> {
  const video = expectCreated(await send('POST', '/v1/videos', key, { model: MODELS.video, prompt: 'sweep video', seconds: 5 }), 'video');
  const image = expectCreated(await send('POST', '/v1/images/generations', key, { model: MODELS.image, prompt: 'sweep image', size: '1024x1024', quality: 'low', async: true }), 'image');
  const music = expectCreated(await send('POST', '/v1/music/generations', key, { prompt: 'sweep music', instrumental: true }), 'music');
  return { video: video.id, image: image.id, music: music.id };
}

async function finish(taskId: string, mode: Mode): Promise<any> {
  const task = mode === 'live' ? await runLiveUntilDone(ctx.app, taskId) : await runUntilDone(ctx.app, taskId);
  expect(task.status, `${taskId}: ${task.error_code}`).toBe('succeeded');
  return task;
}

async function party(name: string): Promise<Party> {
  const customer = await ctx.app.createCustomer({ name, group: GROUP });
  const keys = {} as Party['keys'];
  for (const mode of MODES) {
    await ctx.app.grant(customer.id, 10_000_000, mode);
    const key = await ctx.app.createKey(customer.id, { mode, name: `${name} ${mode} caller` });
    keys[mode] = { id: key.id, key: key.key };
  }
  return { customerId: customer.id, keys, objects: {} as Party['objects'] };
}

async function ownObjects(who: Party, mode: Mode): Promise<void> {
  const tasks = await startTasks(who.keys[mode].key);
  const video = await finish(tasks.video, mode);
  await finish(tasks.image, mode);
  await finish(tasks.music, mode);
  const endpoint = expectCreated(await send('POST', '/v1/webhook-endpoints', who.keys[mode].key, { url: hookUrl }), 'webhook endpoint');
  const apiKey = await ctx.app.createKey(who.customerId, { mode, name: 'object' });
  const all = [tasks.video, tasks.image, tasks.music];
  who.objects[mode] = {
    video: [tasks.video],
    task: all,
    job: all.map((id) => `job_${id.slice('task_'.length)}`),
    file: [video.result.files[0].id],
    webhook_endpoint: [endpoint.id],
    webhook_delivery: [await freshOwned('webhook_delivery', who, mode)],
    api_key: [apiKey.id],
  };
}

/** A fresh object for a call that changes it (cancel, delete, rotate), so the shared fixtures stay as they are. */
async function freshOwned(kind: OwnedKind, who: Party, mode: Mode): Promise<string> {
  const key = who.keys[mode].key;
  switch (kind) {
    case 'video':
    case 'task':
      return (expectCreated(await send('POST', '/v1/videos', key, { model: MODELS.video, prompt: 'fresh', seconds: 5 }), 'fresh video')).id;
    case 'job':
      return `job_${(await freshOwned('task', who, mode)).slice('task_'.length)}`;
    case 'file': {
      const id = await freshOwned('video', who, mode);
      return (await finish(id, mode)).result.files[0].id;
    }
    case 'webhook_endpoint':
      return (expectCreated(await send('POST', '/v1/webhook-endpoints', key, { url: hookUrl }), 'fresh endpoint')).id;
    case 'webhook_delivery': {
      // A callback the receiver answers 410: the delivery ends cancelled, so a retry of it is allowed.
      const created = expectCreated(await send('POST', '/v1/videos', key, { model: MODELS.video, prompt: 'fresh callback', seconds: 5, callback_url: `${hookUrl}/gone` }), 'callback video');
      await finish(created.id, mode);
      await ctx.app.worker.drain();
      const [delivery] = await ctx.app.deps.webhooks.deliveriesOf(created.id);
      expect(delivery?.status, 'the fixture delivery').toBe('cancelled');
      return delivery!.id;
    }
    case 'api_key':
      return (await ctx.app.createKey(who.customerId, { mode, name: 'fresh' })).id;
  }
}

async function freshOperator(kind: OperatorKind, values: Record<string, string>, parentParam: string | undefined): Promise<string> {
  switch (kind) {
    case 'customer':
      return (await ctx.app.createCustomer({ name: 'Fresh' })).id;
    case 'customer_api_key':
      return (await ctx.app.createKey(values[parentParam!]!, { mode: 'test', name: 'fresh' })).id;
    case 'channel':
      return (await createChannel(`spare-${Math.random().toString(36).slice(2, 8)}`)).channelId;
    case 'account':
      return (await createChannel(`spare-${Math.random().toString(36).slice(2, 8)}`)).accountId;
    case 'catalogue_model': {
      const id = `spare-model-${Math.random().toString(36).slice(2, 8)}`;
      const capabilities = { durations: { min: 1, max: 5, default: 5 }, resolutions: ['720p'], default_resolution: '720p', ratios: ['16:9'], default_ratio: '16:9' };
      return expectCreated(await ctx.app.request('POST', '/api/admin/models', { operator: true, body: { id, type: 'video', display_name: id, capabilities } }), 'fresh model').id;
    }
    case 'customer_group':
      return expectCreated(await ctx.app.request('POST', '/api/admin/groups', { operator: true, body: { id: `spare-${Math.random().toString(36).slice(2, 8)}` } }), 'fresh group').id;
    case 'any_task':
      return (expectCreated(await send('POST', '/v1/videos', fx.parties.B.keys.test.key, { model: MODELS.video, prompt: 'fresh for the operator', seconds: 5 }), 'fresh task')).id;
    case 'any_topup':
      return expectCreated(await send('POST', '/v1/billing/topups', fx.parties.B.keys.live.key, { method: 'usdt_evm', amount: 600 + Math.floor(Math.random() * 1000) }), 'fresh top-up').id;
    case 'payment_exception':
      return freshException();
  }
}

/** An open payment exception (an unmatched transfer) for the operator's queue routes. */
async function freshException(): Promise<string> {
  const row = await ctx.app.deps.paymentExceptions.open({
    queue: 'unmatched', kind: 'unknown', method: 'usdt_evm', orderId: null, customerId: null, refType: 'evm_erc20',
    refId: `0xsweep${Math.random().toString(16).slice(2)}:0`, amount: 1_000_000n, currency: 'USDT', details: {}, now: ctx.app.clock.now(),
  });
  return row!.id;
}

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 20, runningMs: 40 });
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(request.url?.endsWith('/gone') ? 410 : 200).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const { channelId, accountId } = await createChannel(GROUP);
  for (const [provider, basePath, models] of [
    ['openai', '/openai/v1', { [MODELS.image]: 'gpt-image-1' }],
    ['suno', '/suno/api/v1', { [MODELS.music]: 'V5' }],
  ] as const) {
    const channel = expectCreated(
      await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { name: provider, provider, base_url: `${mocks.baseUrl}${basePath}`, models, group: GROUP } }),
      provider,
    );
    expectCreated(await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.id, credential: 'mock-key' } }), `${provider} account`);
  }
  const A = await party('Caller');
  const B = await party('Stranger');
  for (const who of [A, B]) for (const mode of MODES) await ownObjects(who, mode);
  fx = { parties: { A, B }, channelId, accountId };
}, 240_000);

afterAll(async () => {
  await mocks?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

function table(): ReturnType<typeof classify> {
  return classify(ctx.app.app.routeTable);
}

describe('route sweep: authentication and ownership on every registered route', () => {
  it('places every registered route: customer, operator or a listed exception with its reason', () => {
    const { swept, excepted, delegated, problems } = table();
    expect(problems).toEqual([]);
    expect(swept.length + excepted.length + delegated.length).toBe(ctx.app.app.routeTable.length);
    expect(delegated.length).toBeGreaterThan(30);
    const customer = swept.filter((entry) => entry.audience === 'customer').map((entry) => entry.label);
    // The routes the issue names are swept, not excepted.
    expect(customer).toEqual(expect.arrayContaining([
      'POST /v1/chat/completions', 'POST /v1/embeddings', 'POST /v1/webhook-endpoints', 'GET /v1/webhook-endpoints/:id',
      'DELETE /v1/webhook-endpoints/:id', 'POST /v1/webhook-endpoints/:id/rotate-secret', 'GET /v1/files/:id/content', 'GET /v1/jobs/:jobId',
      'DELETE /api/v1/auth/api-keys/:id', 'GET /api/v1/webhook-secret', 'GET /v1/usage',
      'GET /v1/webhook-deliveries', 'POST /v1/webhook-deliveries/:id/retry',
    ]));
    expect(swept.filter((entry) => entry.audience === 'operator').length).toBeGreaterThanOrEqual(19);
    // The console's data routes (issue 11) are operator routes, swept like the others.
    expect(swept.filter((entry) => entry.audience === 'operator').map((entry) => entry.label)).toEqual(expect.arrayContaining([
      'GET /api/admin/dashboard', 'GET /api/admin/settings', 'PATCH /api/admin/settings', 'GET /api/admin/audit',
    ]));
    for (const entry of Object.values({ ...EXCEPTIONS, ...ALTERNATE_AUTH })) expect(entry.reason.length).toBeGreaterThan(10);
    // Every operator route is mounted again under /admin/api for console sessions (issue 11).
    const operatorLabels = swept.filter((entry) => entry.audience === 'operator').map((entry) => entry.label);
    const mountedTwins = swept.filter((entry) => entry.audience === 'console' && entry.twin).map((entry) => entry.twin);
    expect(mountedTwins.sort()).toEqual([...operatorLabels].sort());
    // A route added later that this file cannot place stops the sweep here, with what to do about it.
    const added: RouteEntry[] = [
      { method: 'GET', url: '/v1/things/:thingId', face: 'v1' },
      { method: 'POST', url: '/hooks/:id', face: 'plain' },
      { method: 'GET', url: '/v1/untagged', face: undefined },
      { method: 'GET', url: '/admin/api/gadgets', face: 'operator' },
    ];
    expect(classify([...ctx.app.app.routeTable, ...added]).problems).toEqual([
      'GET /v1/things/:thingId: no PARAM_KINDS entry says what :thingId names',
      'POST /hooks/:id (face plain): not a customer or operator route and not in EXCEPTIONS — classify it in route-sweep.test.ts',
      'GET /v1/untagged (face undefined): not a customer or operator route and not in EXCEPTIONS — classify it in route-sweep.test.ts',
      'GET /admin/api/gadgets (face operator): a console route that is neither a mounted operator route nor in CONSOLE_OWN — classify it in route-sweep.test.ts',
    ]);
  });

  it('customer routes: no key (and the operator key) → 401 with the face\'s documented body', async () => {
    const { swept } = table();
    const customer = swept.filter((entry) => entry.audience === 'customer');
    expect(customer.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const { route, label, params } of customer) {
      const values = Object.fromEntries(params.map(({ name, kind }) => [name, kind === 'model' ? MODELS.video : fx.parties.A.objects.test[kind as OwnedKind][0]!]));
      const path = pathOf(route.url, values);
      for (const [who, key] of [['no key', undefined], ['operator key', OPERATOR_KEY]] as const) {
        try {
          const detail = route.face === 'keys' ? 'Invalid or missing API key' : '';
          const response = await send(route.method, path, key);
          expectFaceError(route.face!, response, 401, 'invalid_api_key', detail, `${label} with ${who}`);
          if (route.face !== 'keys') expect(response.body.error.type, label).toBe('authentication_error');
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('customer routes with an id: another customer\'s ids and the other mode\'s ids → 404, exactly like an unknown id', async () => {
    const { swept } = table();
    const withIds = swept.filter((entry) => entry.audience === 'customer' && entry.params.length > 0);
    expect(withIds.length).toBeGreaterThanOrEqual(15);
    const { A, B } = fx.parties;
    const failures: string[] = [];
    let denials = 0;
    let controls = 0;
    const attempt = async (label: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message.split('\n')[0]}`);
      }
    };
    for (const { route, label, params } of withIds) {
      const face = route.face!;
      const body = BODIES[label];
      for (const mode of MODES) {
        const caller = A.keys[mode].key;
        const own = (kind: Kind, who: Party, objectMode: Mode) => (kind === 'model' ? [MODELS.video] : who.objects[objectMode][kind as OwnedKind]);
        for (const param of params) {
          const base = Object.fromEntries(params.map(({ name, kind }) => [name, own(kind, A, mode)[0]!]));
          const at = (id: string) => pathOf(route.url, { ...base, [param.name]: id });
          const unknownId = param.kind === 'model' ? 'no-such-model' : unknownLike(base[param.name]!);
          const unknown = await send(route.method, at(unknownId), caller, body);
          await attempt(`${label} ${mode} key, unknown :${param.name}`, async () => expectNotFound(face, unknown, 'unknown id'));
          if (param.kind === 'model') {
            if (route.method === 'GET') await attempt(`${label} ${mode} key, a catalogue id`, async () => expect((await send('GET', at(MODELS.video), caller)).status).toBe(200));
            continue;
          }
          const kind = param.kind as OwnedKind;
          const exception = MODE_EXCEPTIONS.find((entry) => entry.kind === kind && entry.callerMode === mode);
          const denied: Array<[string, string]> = [
            ...B.objects[mode][kind].map((id): [string, string] => [`another customer's ${mode} ${kind}`, id]),
            ...B.objects[other(mode)][kind].map((id): [string, string] => [`another customer's ${other(mode)} ${kind}`, id]),
            ...(exception ? [] : A.objects[other(mode)][kind].map((id): [string, string] => [`own ${other(mode)} ${kind}`, id])),
          ];
          for (const [what, id] of denied) {
            await attempt(`${label} ${mode} key, ${what} ${id}`, async () => {
              const response = await send(route.method, at(id), caller, body);
              expectNotFound(face, response, what);
              expect(withoutRequestId(response.body), 'the same answer as an unknown id (E3)').toEqual(withoutRequestId(unknown.body));
              denials += 1;
            });
          }
          // The control: the owner's key of the object's mode gets through (a fresh object when the call changes it).
          const allowed = route.method === 'GET' ? own(kind, A, mode) : [await freshOwned(kind, A, mode)];
          for (const id of allowed) {
            await attempt(`${label} ${mode} key, own ${mode} ${kind} ${id}`, async () => {
              const response = await send(route.method, at(id), caller, body);
              expect(response.status, response.text.slice(0, 300)).toBeLessThan(400);
              controls += 1;
            });
          }
          if (exception) {
            const id = await freshOwned(kind, A, other(mode));
            await attempt(`${label} ${mode} key, own ${other(mode)} ${kind} (${exception.reason})`, async () => {
              const response = await send(route.method, at(id), caller, body);
              expect(response.status, response.text.slice(0, 300)).toBeLessThan(400);
            });
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(denials).toBeGreaterThan(100);
    expect(controls).toBeGreaterThan(30);
    // Nothing the denied calls did touched the other customer's objects.
    for (const mode of MODES) {
      for (const id of B.objects[mode].task) expect((await ctx.app.deps.tasks.get(id))?.status).toBe('succeeded');
      expect((await send('GET', `/v1/webhook-endpoints/${B.objects[mode].webhook_endpoint[0]}`, B.keys[mode].key)).status).toBe(200);
      const listed = await ctx.app.request('GET', `/api/public/customers/${B.customerId}/api-keys?limit=100`, { operator: true });
      const objectKey = listed.body.data.find((row: any) => row.id === B.objects[mode].api_key[0]);
      expect(objectKey).toMatchObject({ revoked_at: null });
    }
  });

  it('operator routes: no key and customer keys → 401; unknown ids and another customer\'s child ids → 404', async () => {
    const { swept } = table();
    const operator = swept.filter((entry) => entry.audience === 'operator');
    const { A, B } = fx.parties;
    const failures: string[] = [];
    const attempt = async (label: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message.split('\n')[0]}`);
      }
    };
    const existing: Record<OperatorKind, string> = {
      customer: A.customerId,
      customer_api_key: A.objects.test.api_key[0]!,
      channel: fx.channelId,
      account: fx.accountId,
      catalogue_model: MODELS.video,
      customer_group: GROUP,
      any_task: B.objects.live.task[0]!,
      any_topup: await freshOperator('any_topup', {}, undefined),
      payment_exception: await freshException(),
    };
    for (const { route, label, params } of operator) {
      const body = BODIES[label];
      const base = Object.fromEntries(params.map(({ name, kind }) => [name, existing[kind as OperatorKind]]));
      const path = pathOf(route.url, base);
      for (const [who, key] of [['no key', undefined], ['a test customer key', A.keys.test.key], ['a live customer key', A.keys.live.key]] as const) {
        await attempt(`${label} with ${who}`, async () => {
          const response = await send(route.method, path, key, body);
          expectFaceError('operator', response, 401, 'invalid_api_key', 'Invalid or missing operator key', who);
        });
      }
      for (const param of params) {
        const ids: Array<[string, string]> = [[`unknown ${param.kind}`, UNKNOWN_NAMED[param.kind as OperatorKind] ?? unknownLike(base[param.name]!)]];
        if (param.kind === 'customer_api_key') ids.push(['another customer\'s key under this customer', B.objects.test.api_key[0]!]);
        for (const [what, id] of ids) {
          await attempt(`${label} :${param.name} = ${what}`, async () => {
            const response = await ctx.app.request(route.method, pathOf(route.url, { ...base, [param.name]: id }), { operator: true, ...(body ? { body } : {}) });
            expectNotFound('operator', response, what);
          });
        }
      }
      if (params.length > 0) {
        // The control: real ids get through (fresh ones when the call changes them).
        const values: Record<string, string> = { ...base };
        if (route.method !== 'GET') {
          for (const [index, param] of params.entries()) values[param.name] = await freshOperator(param.kind as OperatorKind, values, params[index - 1]?.name);
        }
        await attempt(`${label} with existing ids`, async () => {
          const response = await ctx.app.request(route.method, pathOf(route.url, values), { operator: true, ...(body ? { body } : {}) });
          expect(response.status, response.text.slice(0, 300)).toBeLessThan(400);
        });
      }
    }
    expect(failures).toEqual([]);
  });

  it('console routes: no session → 401 unauthenticated (sign-in steps: 403 csrf_failed), whatever bearer is sent; a signed-in owner gets through; unknown ids → 404', async () => {
    const { swept } = table();
    const consoleRoutes = swept.filter((entry) => entry.audience === 'console');
    expect(consoleRoutes.length).toBeGreaterThan(40);
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const { A } = fx.parties;
    const existing: Record<OperatorKind, string> = {
      customer: A.customerId, customer_api_key: A.objects.test.api_key[0]!, channel: fx.channelId, account: fx.accountId,
      catalogue_model: MODELS.video, customer_group: GROUP, any_task: A.objects.test.task[0]!,
      any_topup: await freshOperator('any_topup', {}, undefined), payment_exception: await freshException(),
    };
    const failures: string[] = [];
    const attempt = async (label: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message.split('\n')[0]}`);
      }
    };
    for (const { route, label, params, access, twin } of consoleRoutes) {
      const body = twin ? BODIES[twin] : CONSOLE_BODIES[label];
      const path = pathOf(route.url, Object.fromEntries(params.map(({ name, kind }) => [name, existing[kind as OperatorKind]])))
        .replace(/:id/, owner.id);
      for (const [who, key] of [['no key', undefined], ['the operator key', OPERATOR_KEY], ['a customer key', A.keys.live.key]] as const) {
        await attempt(`${label} with ${who} and no session`, async () => {
          const response = await send(route.method, path, key, body);
          if (access === 'public') expect(response.status).toBe(200);
          else if (access === 'sign-in step') expectFaceError('operator', response, 403, 'csrf_failed', '', who);
          else expectFaceError('operator', response, 401, 'unauthenticated', '', who);
        });
      }
      if (twin) {
        for (const param of params) {
          const id = UNKNOWN_NAMED[param.kind as OperatorKind] ?? unknownLike(existing[param.kind as OperatorKind]);
          const values = { ...Object.fromEntries(params.map(({ name, kind }) => [name, existing[kind as OperatorKind]])), [param.name]: id };
          await attempt(`${label} :${param.name} unknown, signed in`, async () => {
            expectNotFound('operator', await owner.client.request(route.method, pathOf(route.url, values), body ? { body } : {}), 'unknown id');
          });
        }
        if (route.method === 'GET' && params.length === 0) {
          await attempt(`${label} signed in`, async () => expect((await owner.client.request('GET', route.url)).status).toBe(200));
        }
      } else if (route.url.includes(':id')) {
        const unknown = Object.entries(CONSOLE_UNKNOWN).find(([suffix]) => route.url.includes(suffix))![1];
        await attempt(`${label} unknown id, signed in`, async () => {
          expectNotFound('operator', await owner.client.request(route.method, route.url.replace(':id', unknown), body ? { body } : {}), 'unknown id');
        });
      }
    }
    expect(failures).toEqual([]);
  });

  it('exceptions and alternate credentials: public probes answer, a forged callback token or file link is refused', async () => {
    const { excepted } = table();
    expect(excepted.sort()).toEqual(Object.keys(EXCEPTIONS).sort());
    for (const label of excepted) await EXCEPTIONS[label]!.check();
    for (const entry of Object.values(ALTERNATE_AUTH)) await entry.check();
  });
});
