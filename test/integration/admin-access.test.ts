import { beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_KEY } from '../harness/app.js';
import { useTestApp } from '../harness/setup.js';
import { ConsoleClient, enrolledAdmin, type EnrolledAdmin } from '../harness/console.js';

/**
 * What a console session may do under /admin/api (SEMANTICS A8, A9, A11; API.md §12): CSRF token plus
 * Sec-Fetch-Site / Origin on every mutation, roles (viewer reads only, only owners manage admins), the operator API
 * mounted with the same handlers, audit rows naming the admin (or `operator-key` for the bearer), and the
 * separation of credentials: /admin/api takes no bearer key of any kind, /v1 takes no cookie.
 */
const ctx = useTestApp();

let owner: EnrolledAdmin;
let operator: EnrolledAdmin;
let viewer: EnrolledAdmin;

beforeAll(async () => {
  owner = await enrolledAdmin(ctx.app, 'owner');
  operator = await enrolledAdmin(ctx.app, 'operator');
  viewer = await enrolledAdmin(ctx.app, 'viewer');
});

function expectError(response: { status: number; body: any; headers: Headers }, status: number, code: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(response.body.error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
  expect(response.body.error.request_id).toBe(response.headers.get('x-request-id'));
}

describe('CSRF and origin checks on mutations (A8)', () => {
  const create = (client: ConsoleClient, options: Parameters<ConsoleClient['request']>[2] = {}) =>
    client.request('POST', '/admin/api/public/customers', { body: { name: 'CSRF probe' }, ...options });

  it('needs the session\'s token, compared exactly', async () => {
    const client = owner.client;
    expectError(await create(client, { csrf: false }), 403, 'csrf_failed');
    expectError(await create(client, { csrf: false, headers: { 'x-csrf-token': `${client.csrf}x` } }), 403, 'csrf_failed');
    expectError(await create(client, { csrf: false, headers: { 'x-csrf-token': operator.client.csrf! } }), 403, 'csrf_failed');
    expectError(await create(client, { csrf: false, headers: { 'x-csrf-token': '' } }), 403, 'csrf_failed');
    expect((await create(client)).status).toBe(201);
  });

  it('Sec-Fetch-Site must be same-origin when present; otherwise Origin must be the public origin; neither is refused', async () => {
    const client = owner.client;
    const origin = new URL(ctx.app.deps.config.publicBaseUrl).origin;
    for (const site of ['cross-site', 'same-site', 'none']) {
      expectError(await create(client, { sameOrigin: false, headers: { 'sec-fetch-site': site, origin } }), 403, 'csrf_failed');
    }
    expectError(await create(client, { sameOrigin: false, headers: { origin: 'https://evil.example' } }), 403, 'csrf_failed');
    expectError(await create(client, { sameOrigin: false, headers: { origin: `${origin}.evil.example` } }), 403, 'csrf_failed');
    expectError(await create(client, { sameOrigin: false, headers: { origin: 'null' } }), 403, 'csrf_failed');
    expectError(await create(client, { sameOrigin: false }), 403, 'csrf_failed');
    expect((await create(client, { sameOrigin: false, headers: { origin } })).status).toBe(201);
    expect((await create(client, { headers: { origin: 'https://ignored-when-fetch-metadata-is-sent.example' } })).status).toBe(201);
  });

  it('safe methods need no token and change nothing (A9); the sign-in steps need the pre-session\'s token', async () => {
    expect((await owner.client.request('GET', '/admin/api/public/customers', { csrf: false, sameOrigin: false })).status).toBe(200);
    const fresh = new ConsoleClient(ctx.app);
    expectError(await fresh.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: owner.password } }), 403, 'csrf_failed');
    await fresh.session();
    expectError(await fresh.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: owner.password }, sameOrigin: false, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'csrf_failed');
    for (const [body, param] of [[{}, 'email'], [{ email: owner.email }, 'password'], [{ email: owner.email, password: 'x', remember: true }, 'remember'], [{ email: 1, password: 'x' }, 'email']] as const) {
      const invalid = await fresh.request('POST', '/admin/api/auth/login', { body });
      expect(invalid.status, JSON.stringify(body)).toBe(400);
      expect(invalid.body.error.param, JSON.stringify(body)).toBe(param);
    }
    expect((await fresh.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: owner.password } })).status).toBe(200);
  });
});

describe('roles', () => {
  it('a viewer reads everything and changes nothing', async () => {
    for (const path of ['/admin/api/public/customers', '/admin/api/admin/models', '/admin/api/admin/audit', '/admin/api/admin/channels', '/admin/api/auth/session', '/admin/api/sessions']) {
      expect((await viewer.client.request('GET', path)).status, path).toBe(200);
    }
    const customer = await ctx.app.createCustomer({ name: 'Seen by the viewer' });
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/admin/api/public/customers', { name: 'nope' }],
      ['PATCH', `/admin/api/public/customers/${customer.id}`, { name: 'nope' }],
      ['POST', `/admin/api/public/customers/${customer.id}/credits`, { amount: 5, reason: 'nope' }],
      ['POST', '/admin/api/admin/groups', { id: 'viewer-group' }],
      ['DELETE', '/admin/api/admin/models/seedance-2.0-fast', undefined],
    ];
    for (const [method, path, body] of attempts) {
      expectError(await viewer.client.request(method, path, body === undefined ? {} : { body }), 403, 'forbidden');
    }
    expect((await ctx.app.request('GET', `/api/public/customers/${customer.id}`, { operator: true })).body.name).toBe('Seen by the viewer');
    // Signing out and changing the own password are not "changes" a viewer is barred from.
    expect((await viewer.client.request('POST', '/admin/api/auth/password', { body: { current_password: 'wrong password!!', new_password: 'another long password' } })).status).toBe(400);
  });

  it('an operator runs the operator API but cannot manage admins; an owner can', async () => {
    expect((await operator.client.request('POST', '/admin/api/public/customers', { body: { name: 'By the operator' } })).status).toBe(201);
    for (const [method, path, body] of [
      ['GET', '/admin/api/admins', undefined],
      ['POST', '/admin/api/admins', { email: 'x@example.com', role: 'viewer' }],
      ['PATCH', `/admin/api/admins/${viewer.id}`, { role: 'owner' }],
      ['POST', `/admin/api/admins/${viewer.id}/reset-totp`, undefined],
    ] as const) {
      expectError(await operator.client.request(method, path, body === undefined ? {} : { body }), 403, 'forbidden');
    }
    const listed = await owner.client.request('GET', '/admin/api/admins');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((row: any) => row.email)).toEqual(expect.arrayContaining([owner.email, operator.email, viewer.email]));
  });
});

describe('the /admin/api mount and credential separation (A11)', () => {
  it('every operator route answers under /admin/api with a session, and only with one', async () => {
    const mounted = ctx.app.app.routeTable.filter((route) => route.url.startsWith('/admin/api/') && /^\/admin\/api\/(public|admin|accounts)(\/|$)/.test(route.url) && !route.url.startsWith('/admin/api/admins'));
    const bare = ctx.app.app.routeTable.filter((route) => route.face === 'operator' && route.url.startsWith('/api/'));
    expect(mounted.map((route) => `${route.method} ${route.url}`).sort()).toEqual(bare.map((route) => `${route.method} /admin${route.url}`).sort());
    expect(mounted.length).toBeGreaterThan(30);
    for (const route of mounted) expect(route.face).toBe('operator');
  });

  it('a bearer of any kind is refused on /admin/api; the cookie is ignored by /v1 and by the bare operator API', async () => {
    const customer = await ctx.app.createCustomer({ name: 'Key holder' });
    const key = await ctx.app.createKey(customer.id, { mode: 'test' });
    for (const bearer of [OPERATOR_KEY, key.key]) {
      const response = await ctx.app.request('GET', '/admin/api/public/customers', { key: bearer });
      expectError(response, 401, 'unauthenticated');
      const mutation = await ctx.app.request('POST', '/admin/api/public/customers', { key: bearer, body: { name: 'bearer' }, headers: { 'sec-fetch-site': 'same-origin' } });
      expectError(mutation, 401, 'unauthenticated');
    }
    const cookie = { cookie: `__Host-gr_session=${owner.client.cookie}` };
    const usage = await ctx.app.request('GET', '/v1/usage', { headers: cookie });
    expect(usage.status).toBe(401);
    expect(usage.body.error.code).toBe('invalid_api_key');
    const models = await ctx.app.request('GET', '/v1/models', { headers: cookie });
    expect(models.status).toBe(401);
    const bareOperator = await ctx.app.request('GET', '/api/public/customers', { headers: { ...cookie, 'x-csrf-token': owner.client.csrf!, 'sec-fetch-site': 'same-origin' } });
    expectError(bareOperator, 401, 'invalid_api_key');
    // The bearer keeps working at the old paths, exactly as before.
    expect((await ctx.app.request('GET', '/api/public/customers', { operator: true })).status).toBe(200);
  });

  it('audit rows name the admin\'s email for console mutations and operator-key for the bearer', async () => {
    const byConsole = await operator.client.request('POST', '/admin/api/public/customers', { body: { name: 'Audited via console' } });
    expect(byConsole.status).toBe(201);
    const byKey = await ctx.app.request('POST', '/api/public/customers', { operator: true, body: { name: 'Audited via key' } });
    const group = await owner.client.request('POST', '/admin/api/admin/groups', { body: { id: 'console-group' } });
    expect(group.status).toBe(201);
    const audit = await owner.client.request('GET', '/admin/api/admin/audit?action=customer.create&limit=50');
    const actorOf = (id: string) => audit.body.data.find((row: any) => row.target_id === id)?.actor;
    expect(actorOf(byConsole.body.id)).toBe(operator.email);
    expect(actorOf(byKey.body.id)).toBe('operator-key');
    const groupAudit = await ctx.app.request('GET', '/api/admin/audit?target_type=group&target_id=console-group', { operator: true });
    expect(groupAudit.body.data[0]).toMatchObject({ actor: owner.email, ip: expect.any(String) });
    // A key created from the console records who made it.
    const key = await operator.client.request('POST', `/admin/api/public/customers/${byConsole.body.id}/api-keys`, { body: { name: 'console key', mode: 'test' } });
    expect(key.status).toBe(201);
    const row = (await ctx.app.deps.db.query<any>('SELECT created_by FROM api_keys WHERE id = $1', [key.body.id])).rows[0];
    expect(row.created_by).toBe(operator.email);
  });

  it('unknown console JSON paths are JSON 404s, not the single-page app', async () => {
    const response = await owner.client.request('GET', '/admin/api/no-such-thing');
    expectError(response, 404, 'not_found');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'");
    expect((await ctx.app.request('GET', '/v1/no-such-thing')).headers.get('content-security-policy')).toBeNull();
    expectError(await owner.client.request('GET', '/admin/api'), 404, 'not_found');
  });
});
