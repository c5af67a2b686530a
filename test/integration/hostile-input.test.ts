import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { MAX_JSON_DEPTH } from '../../src/http/input-guard.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';
import { testCustomer } from '../harness/flows.js';
import { enrolledAdmin } from '../harness/console.js';
import { signedUpUser } from '../harness/customer-console.js';
import type { TestResponse } from '../harness/app.js';

/**
 * Issue 8: every class of hostile input answers a 4xx with its face's documented body, and money never leaves the
 * exact range. The seeded fuzz suite (fuzz.test.ts) covers every route; these pin each class down by name.
 */
const ctx = useTestApp();

const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const deepArray = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

async function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('text PostgreSQL cannot store', () => {
  it('NUL and unpaired surrogates are refused on every face, in bodies, paths and queries, with the parameter named', async () => {
    const { key } = await testCustomer(ctx.app);
    const nulBody = await ctx.app.request('POST', '/v1/videos', { key, rawBody: '{"model":"seedance-2.0-fast","prompt":"a\\u0000b"}', headers: { 'content-type': 'application/json' } });
    expectV1Error(nulBody, 400, 'invalid_request');
    expect(nulBody.body.error.param).toBe('prompt');
    const surrogate = await ctx.app.request('POST', '/v1/videos', { key, rawBody: '{"model":"seedance-2.0-fast","prompt":"x","metadata":{"k":["\\udc00"]}}', headers: { 'content-type': 'application/json' } });
    expectV1Error(surrogate, 400, 'invalid_request');
    expect(surrogate.body.error.param).toBe('metadata.k.0');
    const inKey = await ctx.app.request('POST', '/v1/videos', { key, rawBody: '{"model":"seedance-2.0-fast","prompt":"x","metadata":{"a\\u0000":1}}', headers: { 'content-type': 'application/json' } });
    expectV1Error(inKey, 400, 'invalid_request');
    expect(inKey.body.error.param).toBe('metadata');

    const keysFace = await ctx.app.request('POST', '/api/v1/auth/api-keys', { key, rawBody: '{"name":"\\ud800"}', headers: { 'content-type': 'application/json' } });
    expect(keysFace.status).toBe(400);
    expect(keysFace.body).toEqual({ detail: 'name contains an unpaired UTF-16 surrogate' });

    const operator = await ctx.app.request('POST', '/api/public/customers', { operator: true, rawBody: '{"name":"a\\u0000"}', headers: { 'content-type': 'application/json' } });
    expectV1Error(operator, 400, 'invalid_request');

    const path = await ctx.app.request('GET', '/v1/tasks/task_%00', { key });
    expectV1Error(path, 400, 'invalid_request');
    expect(path.body.error.param).toBe('id');
    const query = await ctx.app.request('GET', '/v1/tasks?after=%00', { key });
    expectV1Error(query, 400, 'invalid_request');
    expect(query.body.error.param).toBe('after');
    const operatorQuery = await ctx.app.request('GET', '/api/admin/audit?target_id=a%00', { operator: true });
    expectV1Error(operatorQuery, 400, 'invalid_request');
    expect(await ctx.app.deps.db.query("SELECT 1 FROM customers WHERE name LIKE 'a%'")).toMatchObject({ rows: [] });
  });

  it('client JSON that would be stored (chat, embeddings, endpoints, task metadata, callbacks) with a NUL → 400, never a 500', async () => {
    const { key, customerId } = await testCustomer(ctx.app);
    const cases: Array<[string, string, string]> = [
      ['/v1/chat/completions', '{"model":"grok-4-fast","messages":[{"role":"user","content":"a\\u0000b"}]}', 'messages.0.content'],
      ['/v1/embeddings', '{"model":"text-embedding-3-small","input":["ok","a\\u0000"]}', 'input.1'],
      ['/v1/webhook-endpoints', '{"url":"https://example.com/hook","description":"d\\u0000"}', 'description'],
      ['/v1/images/generations', '{"prompt":"p","async":true,"metadata":{"order":"\\u0000"}}', 'metadata.order'],
      ['/webhooks/upstream/ch_none/token', '{"status":"done\\u0000"}', 'status'],
    ];
    for (const [path, rawBody, param] of cases) {
      const response = await ctx.app.request('POST', path, { key, rawBody, headers: { 'content-type': 'application/json' } });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param, path).toBe(param);
    }
    expect(await ctx.app.deps.db.query('SELECT 1 FROM tasks WHERE customer_id = $1', [customerId])).toMatchObject({ rows: [] });
  });

  it('multipart fields are checked like JSON fields', async () => {
    const { key } = await testCustomer(ctx.app);
    const form = new FormData();
    form.set('model', 'seedance-2.0-fast');
    form.set('prompt', 'a\u0000b');
    const response = await fetch(`${ctx.app.baseUrl}/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    const body = (await response.json()) as { error: { param?: string } };
    expect(response.status).toBe(400);
    expect(body.error.param).toBe('prompt');
  });
});

describe('nesting', () => {
  it(`JSON deeper than ${MAX_JSON_DEPTH} levels is refused in every field that takes objects or arrays`, async () => {
    const { key } = await testCustomer(ctx.app);
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, string]> = [
      ['/v1/videos', `{"model":"seedance-2.0-fast","prompt":"x","metadata":${deepObject(100_000)}}`],
      ['/v1/chat/completions', `{"model":"gpt-5-mini","messages":[{"role":"user","content":${deepArray(100_000)}}]}`],
      ['/v1/embeddings', `{"model":"text-embedding-3-small","input":${deepArray(50)}}`],
      ['/v1/video/generations', `{"model":"seedance-2.0-fast","prompt":"x","metadata":${deepObject(40)}}`],
    ];
    for (const [path, rawBody] of cases) {
      const response = await ctx.app.request('POST', path, { key, rawBody, headers: json });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.message).toContain(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    // At the limit it is accepted as far as nesting goes.
    const fine = await ctx.app.request('POST', '/v1/videos', { key, rawBody: `{"model":"seedance-2.0-fast","prompt":"x","metadata":{"a":${deepArray(MAX_JSON_DEPTH - 3)}}}`, headers: json });
    expect(fine.status).toBe(202);
  });
});

describe('chat and embeddings element types', () => {
  it('null and wrongly typed messages and inputs are 400 for test and live keys', async () => {
    const { key, customerId } = await testCustomer(ctx.app);
    await ctx.app.grant(customerId, 100_000, 'live');
    const live = (await ctx.app.createKey(customerId, { mode: 'live' })).key;
    for (const apiKey of [key, live]) {
      for (const messages of [[null], [1], ['hi'], [{ content: 'no role' }], [{ role: 'user', content: 5 }], [{ role: 'user', content: [null] }]]) {
        const response = await ctx.app.request('POST', '/v1/chat/completions', { key: apiKey, body: { model: 'gpt-5-mini', messages } });
        expectV1Error(response, 400, 'invalid_request');
        expect(response.body.error.param).toMatch(/^messages\.0/);
      }
      for (const input of [[null], [1.5], [[null]], [{}], [true], [-1]]) {
        const response = await ctx.app.request('POST', '/v1/embeddings', { key: apiKey, body: { model: 'text-embedding-3-small', input } });
        expectV1Error(response, 400, 'invalid_request');
      }
    }
    const wallet = await ctx.app.deps.wallet.balance(customerId, 'live');
    expect(wallet.reserved).toBe(0n);
  });
});

describe('content types and multipart', () => {
  it('broken multipart bodies are 400 and wrong or missing content types are 415, with X-Request-Id', async () => {
    const { key } = await testCustomer(ctx.app);
    const cases: Array<[string | undefined, string, number, string]> = [
      ['multipart/form-data', 'no boundary', 400, 'invalid_request'],
      ['multipart/form-data; boundary=XX', '--XX\r\nbroken header\r\n\r\nv\r\n--XX--\r\n', 400, 'invalid_request'],
      ['multipart/form-data; boundary=XX', '--XX\r\nContent-Disposition: form-data; name="input_reference"; filename="a.png"\r\nContent-Type: image/png\r\n\r\ntruncated', 400, 'invalid_request'],
      ['text/plain', 'hello', 415, 'unsupported_media_type'],
      ['application/xml', '<a/>', 415, 'unsupported_media_type'],
      [undefined, 'hello', 415, 'unsupported_media_type'],
    ];
    for (const [type, rawBody, status, code] of cases) {
      const response = await ctx.app.request('POST', '/v1/videos', { key, rawBody, headers: type ? { 'content-type': type } : {} });
      expectV1Error(response, status, code);
    }
  });
});

/** A query or body field that names an instant: `from`, `to`, `since`, `until`, `before` and every `…_at`. */
const TIMESTAMP_FIELD = /^(from|to|since|until|before)$|_at$/;
const OUT_OF_RANGE = ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '99999-01-01T00:00:00Z', '10000-01-01T00:00:00Z', '9999-12-31T23:59:59-01:00', '2026-02-30T25:00:00Z'];

/** Top-level property names of a route's querystring or body schema (JSON content maps and unions included). */
function propertiesOf(schema: unknown): string[] {
  const node = schema as { properties?: Record<string, unknown>; anyOf?: unknown[]; content?: Record<string, { schema: unknown }> } | undefined;
  if (!node || typeof node !== 'object') return [];
  if (node.content) return Object.values(node.content).flatMap((entry) => propertiesOf(entry.schema));
  if (node.anyOf) return node.anyOf.flatMap(propertiesOf);
  return Object.keys(node.properties ?? {});
}

/**
 * How to reach the timestamp check of each route that has a timestamp field (the rest of a valid request). Keyed by
 * route without the console's `/admin` prefix: the operator API answers under both. A route that gains such a field
 * and is missing here fails the first assertion: add it.
 */
const TIMESTAMP_ROUTES: Record<string, { path?: (ids: { customerId: string; model: string }) => string; body?: Record<string, unknown> }> = {
  'GET /v1/usage': {},
  'POST /api/v1/auth/api-keys': { body: { name: 'k' } },
  'POST /api/public/customers/:id/api-keys': { path: (ids) => `/api/public/customers/${ids.customerId}/api-keys`, body: { name: 'k', mode: 'test' } },
  'GET /api/admin/tasks': {},
  'GET /api/admin/audit': {},
  'GET /api/admin/reports/usage': {},
  'GET /api/admin/topups': {},
  'PATCH /api/admin/models/:id': { path: (ids) => `/api/admin/models/${ids.model}`, body: {} },
  'GET /console/api/usage': {},
  'GET /console/api/tasks': {},
  'POST /console/api/keys': { body: { name: 'k', mode: 'test' } },
};

describe('timestamps', () => {
  it('dates outside 1970–9999 are 400 in every from / to / expires_at field', async () => {
    const { key, customerId } = await testCustomer(ctx.app);
    for (const value of ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '99999-01-01T00:00:00Z', '2026-02-30T25:00:00Z']) {
      const encoded = encodeURIComponent(value);
      for (const query of [`from=${encoded}`, `from=2026-01-01T00:00:00Z&to=${encoded}`]) {
        const usage = await ctx.app.request('GET', `/v1/usage?${query}`, { key });
        expect(usage.status, value).toBe(400);
        expect(usage.body.ok).toBe(false);
      }
      const own = await ctx.app.request('POST', '/api/v1/auth/api-keys', { key, body: { name: 'k', expires_at: value } });
      expect(own.status, value).toBe(400);
      expect(own.body.detail).toMatch(/expires_at/);
      const operator = await ctx.app.request('POST', `/api/public/customers/${customerId}/api-keys`, { operator: true, body: { name: 'k', mode: 'test', expires_at: value } });
      expectV1Error(operator, 400, 'invalid_request');
      expect(operator.body.error.param).toBe('expires_at');
    }
  });

  it('every timestamp field of every registered route, on every face and session, refuses dates the database cannot hold', async () => {
    // The fields come from the route table, so a route added later with a `from`, `to` or `…_at` is checked too.
    const routes = ctx.app.app.routeTable
      .map((route) => ({
        route,
        key: `${route.method} ${route.url.replace(/^\/admin\/api\//, '/api/')}`,
        fields: [
          ...propertiesOf(route.schema?.querystring).filter((name) => TIMESTAMP_FIELD.test(name)).map((name) => ({ name, in: 'query' as const })),
          ...propertiesOf(route.schema?.body).filter((name) => TIMESTAMP_FIELD.test(name)).map((name) => ({ name, in: 'body' as const })),
        ],
      }))
      .filter((entry) => entry.fields.length > 0);
    expect(routes.map((entry) => entry.key).filter((key) => !(key in TIMESTAMP_ROUTES)), 'routes with a timestamp field missing from TIMESTAMP_ROUTES').toEqual([]);
    expect(Object.keys(TIMESTAMP_ROUTES).filter((key) => !routes.some((entry) => entry.key === key)), 'stale TIMESTAMP_ROUTES entries').toEqual([]);
    expect(routes.some((entry) => entry.route.url.startsWith('/admin/api/'))).toBe(true);
    expect(routes.some((entry) => entry.route.url.startsWith('/console/api/'))).toBe(true);

    const { key, customerId } = await testCustomer(ctx.app);
    const admin = await enrolledAdmin(ctx.app, 'owner');
    const user = await signedUpUser(ctx.app);
    const ids = { customerId, model: 'seedance-2.0-fast' };
    const send = (method: string, path: string, body?: Record<string, unknown>): Promise<TestResponse> => {
      const withBody = body === undefined ? {} : { body };
      if (path.startsWith('/admin/api/')) return admin.client.request(method, path, withBody);
      if (path.startsWith('/console/api/')) return user.client.request(method, path, withBody);
      if (path.startsWith('/api/') && !path.startsWith('/api/v1/')) return ctx.app.request(method, path, { operator: true, ...withBody });
      return ctx.app.request(method, path, { key, ...withBody });
    };

    let checked = 0;
    for (const { route, key: routeKey, fields } of routes) {
      const how = TIMESTAMP_ROUTES[routeKey]!;
      const prefix = route.url.startsWith('/admin/api/') ? '/admin' : '';
      const path = prefix + (how.path ? how.path(ids) : routeKey.split(' ')[1]!);
      for (const field of fields) {
        for (const value of OUT_OF_RANGE) {
          const label = `${route.method} ${route.url} ${field.name}=${value}`;
          const response = field.in === 'query'
            ? await send(route.method, `${path}?${field.name}=${encodeURIComponent(value)}`)
            : await send(route.method, path, { ...how.body, [field.name]: value });
          expect(response.status, `${label}: ${response.text}`).toBe(400);
          if (path.startsWith('/api/v1/')) {
            expect(response.body.detail, label).toMatch(new RegExp(field.name));
          } else {
            expectV1Error(response, 400, 'invalid_request');
            expect(response.body.error.param, label).toBe(field.name);
          }
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(routes.length * OUT_OF_RANGE.length);
    expect(ctx.app.deps.metrics.value('genrelay_committed_then_failed_total')).toBe(0);
  });
});

describe('errors Fastify and Node raise by themselves', () => {
  it('bad percent-encoding, over-long parameters, too-large bodies and malformed requests use the one error body', async () => {
    const { key } = await testCustomer(ctx.app);
    expectV1Error(await ctx.app.request('GET', '/v1/tasks/%E0%A4%A', { key }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', `/v1/tasks/${'x'.repeat(101)}`, { key }), 400, 'invalid_request');
    const tooLong = await ctx.app.request('GET', `/api/v1/auth/api-keys/${'x'.repeat(300)}/rotate`, { key });
    expect(tooLong.headers.get('x-request-id')).toMatch(/^req_/);
    expectV1Error(await ctx.app.request('POST', '/api/public/customers', { operator: true, rawBody: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } }), 413, 'request_too_large');
    expectV1Error(await ctx.app.request('POST', '/v1/videos', { key, rawBody: '{"model":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_request');
    const port = Number(new URL(ctx.app.baseUrl).port);
    const malformed = await rawHttp(port, 'GET /v1/usage HTTP/1.1\r\nHost: x\r\nBad Header With Spaces\r\n\r\n');
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(malformed).toMatch(/X-Request-Id: req_\w+/);
    const body = JSON.parse(malformed.slice(malformed.indexOf('\r\n\r\n') + 4));
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.request_id).toBe(/X-Request-Id: (req_\w+)/.exec(malformed)![1]);
  });
});

describe('money stays in the exact range', () => {
  it('a grant past 2^53 − 1 is refused before anything is written, and a retry is refused the same way', async () => {
    const { customerId } = await testCustomer(ctx.app, 0);
    const before = await ctx.app.deps.db.query<{ count: bigint }>('SELECT count(*) AS count FROM ledger_entries');
    const audits = await ctx.app.deps.db.query<{ count: bigint }>('SELECT count(*) AS count FROM audit_events');
    const first = await ctx.app.request('POST', `/api/public/customers/${customerId}/credits`, { operator: true, body: { amount: Number.MAX_SAFE_INTEGER, reason: 'max' } });
    expect(first.status).toBe(201);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const over = await ctx.app.request('POST', `/api/public/customers/${customerId}/credits`, { operator: true, body: { amount: 1, reason: 'one more' } });
      expectV1Error(over, 400, 'invalid_request');
      expect(over.body.error.param).toBe('amount');
    }
    const after = await ctx.app.deps.db.query<{ count: bigint }>('SELECT count(*) AS count FROM ledger_entries');
    expect(after.rows[0]!.count).toBe(before.rows[0]!.count + 1n);
    const auditsAfter = await ctx.app.deps.db.query<{ count: bigint }>('SELECT count(*) AS count FROM audit_events');
    expect(auditsAfter.rows[0]!.count).toBe(audits.rows[0]!.count + 1n);
    const view = await ctx.app.request('GET', `/api/public/customers/${customerId}`, { operator: true });
    expect(view.status).toBe(200);
    expect(view.body.credits.live.balance).toBe(Number.MAX_SAFE_INTEGER);
    expect((await ctx.app.request('GET', '/api/public/customers', { operator: true })).status).toBe(200);
    expect(ctx.app.deps.metrics.value('genrelay_committed_then_failed_total')).toBe(0);
  });

  it('the database refuses an out-of-range balance even when code does not check', async () => {
    const { customerId } = await testCustomer(ctx.app, 0);
    const walletId = await ctx.app.deps.wallet.walletId(customerId, 'live');
    await expect(ctx.app.deps.db.query('UPDATE wallets SET balance = 9007199254740992 WHERE id = $1', [walletId])).rejects.toThrow(/wallets_balance_json_safe/);
  });

  it('a balance already out of range (written by SQL) is still displayed, exactly, never a 500', async () => {
    const { customerId, key } = await testCustomer(ctx.app, 0);
    const walletId = await ctx.app.deps.wallet.walletId(customerId, 'test');
    const huge = 2n ** 60n;
    const db = ctx.app.deps.db;
    // As an installation from before migration 0007 might hold: the constraints are lifted, the row written, and the
    // constraints put back NOT VALID exactly as the migration adds them.
    await db.query('ALTER TABLE wallets DROP CONSTRAINT wallets_balance_json_safe');
    await db.query('ALTER TABLE ledger_entries DROP CONSTRAINT ledger_amount_json_safe');
    await db.query(`INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, reason, created_at) VALUES ($1, 'grant', $2, 'sql', $1, 'by hand', now())`, [walletId, huge]);
    await db.query('UPDATE wallets SET balance = balance + $2 WHERE id = $1', [walletId, huge]);
    await db.query('ALTER TABLE wallets ADD CONSTRAINT wallets_balance_json_safe CHECK (balance <= 9007199254740991) NOT VALID');
    await db.query('ALTER TABLE ledger_entries ADD CONSTRAINT ledger_amount_json_safe CHECK (amount BETWEEN -9007199254740991 AND 9007199254740991) NOT VALID');

    const view = await ctx.app.request('GET', `/api/public/customers/${customerId}`, { operator: true });
    expect(view.status).toBe(200);
    expect(view.body.credits.test.balance).toBe(huge.toString());
    expect((await ctx.app.request('GET', '/api/public/customers', { operator: true })).status).toBe(200);
    const credits = await ctx.app.request('GET', `/api/public/customers/${customerId}/credits?mode=test`, { operator: true });
    expect(credits.status).toBe(200);
    expect(credits.body.entries[0].amount).toBe(huge.toString());
    expect(credits.body.balance).toBe(huge.toString());
    const usage = await ctx.app.request('GET', '/v1/usage', { key });
    expect(usage.status).toBe(200);
    expect(usage.body.creditsBalance).toBe(huge.toString());
    // Writes that would keep it out of range are refused with a 4xx, not a 500.
    const more = await ctx.app.request('POST', `/api/public/customers/${customerId}/credits`, { operator: true, body: { amount: 5, reason: 'more', mode: 'test' } });
    expectV1Error(more, 400, 'invalid_request');
  });
});

describe('a committed change never answers an internal error', () => {
  it('the detector counts an internal error after a commit, and only then', async () => {
    const { deps } = ctx.app;
    const server = buildServer(deps);
    server.post('/v1/__commit_then_throw', async () => {
      await deps.db.transaction((tx) => tx.query(`INSERT INTO audit_events (actor, action, target_type, target_id, created_at) VALUES ('test', 'probe', 'probe', 'p1', now())`));
      throw new Error('boom after commit');
    });
    server.post('/v1/__throw_before_commit', async () => {
      await deps.db.query('SELECT 1');
      throw new Error('boom before any write');
    });
    server.post('/v1/__write_then_client_error', async () => {
      await deps.db.query(`INSERT INTO audit_events (actor, action, target_type, target_id, created_at) VALUES ('test', 'probe', 'probe', 'p2', now())`);
      throw new (await import('../../src/lib/errors.js')).AppError('invalid_request', 'a 4xx after a write is the route\'s contract');
    });
    await server.ready();
    const start = deps.metrics.value('genrelay_committed_then_failed_total');
    expect((await server.inject({ method: 'POST', url: '/v1/__throw_before_commit' })).statusCode).toBe(500);
    expect(deps.metrics.value('genrelay_committed_then_failed_total')).toBe(start);
    expect((await server.inject({ method: 'POST', url: '/v1/__write_then_client_error' })).statusCode).toBe(400);
    expect(deps.metrics.value('genrelay_committed_then_failed_total')).toBe(start);
    const failed = await server.inject({ method: 'POST', url: '/v1/__commit_then_throw' });
    expect(failed.statusCode).toBe(500);
    expect(failed.headers['x-request-id']).toMatch(/^req_/);
    expect(deps.metrics.value('genrelay_committed_then_failed_total')).toBe(start + 1);
    await server.close();
  });

  it('with TRACK_COMMITS off (the default) requests run without a scope: the answer is the same, nothing is counted', async () => {
    const { deps } = ctx.app;
    const server = buildServer({ ...deps, config: Object.freeze({ ...deps.config, trackCommits: false }) });
    let scope: unknown = 'unset';
    server.post('/v1/__commit_then_throw', async (request) => {
      await deps.db.transaction((tx) => tx.query(`INSERT INTO audit_events (actor, action, target_type, target_id, created_at) VALUES ('test', 'probe', 'probe', 'p3', now())`));
      scope = request.commits;
      throw new Error('boom after commit');
    });
    await server.ready();
    const start = deps.metrics.value('genrelay_committed_then_failed_total');
    const failed = await server.inject({ method: 'POST', url: '/v1/__commit_then_throw' });
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toMatchObject({ error: { code: 'internal_error' } });
    expect(failed.headers['x-request-id']).toMatch(/^req_/);
    expect(scope).toBeUndefined();
    expect(deps.metrics.value('genrelay_committed_then_failed_total')).toBe(start);
    const written = await deps.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_events WHERE target_id = 'p3'`);
    expect(written.rows[0]!.n).toBe('1');
    await server.close();
  });
});
