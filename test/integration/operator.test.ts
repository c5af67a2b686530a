import { describe, expect, it } from 'vitest';
import { OPERATOR_KEY } from '../harness/app.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/** Operator API: customers and their keys (API.md §8). */
const ctx = useTestApp();

const routes: Array<[string, string, unknown?]> = [
  ['POST', '/api/public/customers', { name: 'x' }],
  ['GET', '/api/public/customers'],
  ['GET', '/api/public/customers/cus_x'],
  ['PATCH', '/api/public/customers/cus_x', { status: 'suspended' }],
  ['POST', '/api/public/customers/cus_x/api-keys', { name: 'k', mode: 'live' }],
  ['GET', '/api/public/customers/cus_x/api-keys'],
  ['DELETE', '/api/public/customers/cus_x/api-keys/key_x'],
  ['POST', '/api/public/customers/cus_x/api-keys/key_x/rotate', {}],
  ['POST', '/api/public/customers/cus_x/credits', { amount: 5, reason: 'r' }],
  ['GET', '/api/public/customers/cus_x/credits'],
  ['GET', '/api/admin/audit'],
];

describe('operator authentication', () => {
  it.each(routes)('%s %s rejects a missing, wrong or customer key with 401', async (method, path, body) => {
    const customer = await ctx.app.createCustomer();
    const customerKey = await ctx.app.createKey(customer.id);
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-operator-key-000000' }, { authorization: `Bearer ${customerKey.key}` }, { authorization: OPERATOR_KEY }]) {
      const response = await ctx.app.request(method, path, { body, headers });
      expectV1Error(response, 401, 'invalid_api_key');
    }
  });
});

describe('customers', () => {
  it('creates a customer with both wallets, an audit row and a Location', async () => {
    expect((await ctx.app.request('POST', '/api/admin/groups', { operator: true, body: { id: 'vip' } })).status).toBe(201);
    const response = await ctx.app.request('POST', '/api/public/customers', {
      operator: true,
      body: { name: 'Acme', email: 'ops@acme.test', plan: { rate_limit_rpm: 100, max_concurrency: 5, allowed_models: ['m1'] }, group: 'vip' },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      object: 'customer',
      name: 'Acme',
      email: 'ops@acme.test',
      status: 'active',
      group: 'vip',
      plan: { rate_limit_rpm: 100, max_concurrency: 5, allowed_models: ['m1'] },
      credits: { live: { balance: 0, reserved: 0, available: 0 }, test: { balance: 0, reserved: 0, available: 0 } },
    });
    expect(response.body.id).toMatch(/^cus_[0-9A-Za-z]{22}$/);
    expect(response.headers.get('location')).toBe(`/api/public/customers/${response.body.id}`);
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${response.body.id}`, { operator: true });
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ actor: 'operator-key', action: 'customer.create', target_type: 'customer' });
  });

  it('rejects invalid bodies with 400 and stores nothing', async () => {
    const before = await ctx.app.request('GET', '/api/public/customers?limit=100', { operator: true });
    const cases: Array<[unknown, string, string?]> = [
      [{}, 'invalid_request', 'name'],
      [{ name: '' }, 'invalid_request', 'name'],
      [{ name: 'x', customer_id: 'cus_1' }, 'unknown_parameter', 'customer_id'],
      [{ name: 'x', status: 'deleted' }, 'invalid_request', 'status'],
      [{ name: 'x', plan: { rate_limit_rpm: 0 } }, 'invalid_request', 'plan.rate_limit_rpm'],
      [{ name: 'x', plan: { rate_limit_rpm: '10' } }, 'invalid_request', 'plan.rate_limit_rpm'],
      [{ name: 'x', plan: { cost: 1 } }, 'unknown_parameter', 'plan.cost'],
      [{ name: 'x', email: 'not-an-email' }, 'invalid_request', 'email'],
      [[1, 2], 'invalid_request'],
    ];
    for (const [body, code, param] of cases) {
      const response = await ctx.app.request('POST', '/api/public/customers', { operator: true, body });
      expectV1Error(response, 400, code);
      if (param) expect(response.body.error.param).toBe(param);
    }
    const malformed = await ctx.app.request('POST', '/api/public/customers', { operator: true, rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expectV1Error(malformed, 400, 'invalid_request');
    const after = await ctx.app.request('GET', '/api/public/customers?limit=100', { operator: true });
    expect(after.body.data.length).toBe(before.body.data.length);
  });

  it('rejects a duplicate email with 409', async () => {
    await ctx.app.createCustomer({ email: 'dup@acme.test' });
    const response = await ctx.app.request('POST', '/api/public/customers', { operator: true, body: { name: 'x', email: 'DUP@acme.test' } });
    expectV1Error(response, 409, 'conflict');
  });

  it('lists customers newest first with cursor pagination', async () => {
    const created = [];
    ctx.app.clock.advance(5);
    for (let index = 0; index < 3; index += 1) {
      created.push(await ctx.app.createCustomer({ name: `page-${index}` }));
      ctx.app.clock.advance(5);
    }
    const first = await ctx.app.request('GET', '/api/public/customers?limit=2', { operator: true });
    expect(first.status).toBe(200);
    expect(first.body.object).toBe('list');
    expect(first.body.data.map((row: any) => row.id)).toEqual([created[2].id, created[1].id]);
    expect(first.body.has_more).toBe(true);
    const second = await ctx.app.request('GET', `/api/public/customers?limit=1&after=${created[1].id}`, { operator: true });
    expect(second.body.data[0].id).toBe(created[0].id);
    expectV1Error(await ctx.app.request('GET', '/api/public/customers?limit=0', { operator: true }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', '/api/public/customers?limit=abc', { operator: true }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', '/api/public/customers?bogus=1', { operator: true }), 400, 'unknown_parameter');
  });

  it('inspects and updates a customer; unknown ids are 404', async () => {
    const customer = await ctx.app.createCustomer();
    expect((await ctx.app.request('POST', '/api/admin/groups', { operator: true, body: { id: 'gold' } })).status).toBe(201);
    const patched = await ctx.app.request('PATCH', `/api/public/customers/${customer.id}`, {
      operator: true,
      body: { plan: { max_concurrency: 3 }, group: 'gold', name: 'Renamed' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', group: 'gold', plan: { max_concurrency: 3, rate_limit_rpm: null } });
    const fetched = await ctx.app.request('GET', `/api/public/customers/${customer.id}`, { operator: true });
    expect(fetched.body).toEqual(patched.body);
    expectV1Error(await ctx.app.request('GET', '/api/public/customers/cus_missing', { operator: true }), 404, 'not_found');
    expectV1Error(await ctx.app.request('PATCH', '/api/public/customers/cus_missing', { operator: true, body: { name: 'x' } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('PATCH', `/api/public/customers/${customer.id}`, { operator: true, body: { status: 'gone' } }), 400, 'invalid_request');
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${customer.id}&action=customer.update`, { operator: true });
    expect(audit.body.data[0].before.group_name).toBe('default');
    expect(audit.body.data[0].after.group_name).toBe('gold');
  });

  it('plan limits apply to keys at once: a plan model allow-list narrows a key', async () => {
    const customer = await ctx.app.createCustomer({ plan: { rate_limit_rpm: 2 } });
    const key = await ctx.app.createKey(customer.id);
    const first = await ctx.app.request('GET', '/v1/usage', { key: key.key });
    expect(first.headers.get('ratelimit-policy')).toBe('"key";q=2;w=60');
    await ctx.app.request('PATCH', `/api/public/customers/${customer.id}`, { operator: true, body: { plan: { rate_limit_rpm: 50 } } });
    const second = await ctx.app.request('GET', '/v1/usage', { key: key.key });
    expect(second.headers.get('ratelimit-policy')).toBe('"key";q=50;w=60');
  });
});

describe("a customer's keys", () => {
  it('creates a key shown once, stored as sha256 and prefix, and audited', async () => {
    const customer = await ctx.app.createCustomer();
    const response = await ctx.app.request('POST', `/api/public/customers/${customer.id}/api-keys`, {
      operator: true,
      body: { name: 'Prod', mode: 'test', allowed_models: ['m1'], ip_allowlist: ['10.0.0.0/8'], rate_limit_rpm: 60, max_concurrency: 2, scopes: ['videos'] },
    });
    expect(response.status).toBe(201);
    const key = response.body;
    expect(key.key).toMatch(/^ak_test_[0-9A-Za-z]{49}$/);
    expect(key).toMatchObject({ object: 'api_key', name: 'Prod', mode: 'test', status: 'active', allowed_models: ['m1'], ip_allowlist: ['10.0.0.0/8'], rate_limit_rpm: 60, max_concurrency: 2, scopes: ['videos'], key_prefix: key.key.slice(0, 12) });
    const stored = await ctx.app.deps.db.query<any>('SELECT key_hash, key_prefix FROM api_keys WHERE id = $1', [key.id]);
    const { createHash } = await import('node:crypto');
    expect(stored.rows[0].key_hash).toBe(createHash('sha256').update(key.key).digest('hex'));
    const listed = await ctx.app.request('GET', `/api/public/customers/${customer.id}/api-keys`, { operator: true });
    expect(listed.body.data).toHaveLength(1);
    expect(listed.text).not.toContain(key.key);
    expect(listed.body.data[0].key).toBeUndefined();
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${key.id}`, { operator: true });
    expect(audit.body.data[0].action).toBe('api_key.create');
    expect(audit.text).not.toContain(key.key);
    expect(audit.text).not.toContain(stored.rows[0].key_hash);
  });

  it('rejects invalid key bodies and past expiry, and 404s unknown customers and foreign keys', async () => {
    const customer = await ctx.app.createCustomer();
    const other = await ctx.app.createCustomer();
    const otherKey = await ctx.app.createKey(other.id);
    const path = `/api/public/customers/${customer.id}/api-keys`;
    const invalid: Array<[unknown, string]> = [
      [{ name: 'k' }, 'invalid_request'],
      [{ name: 'k', mode: 'prod' }, 'invalid_request'],
      [{ name: 'k', mode: 'live', ip_allowlist: ['300.1.1.1/8'] }, 'invalid_request'],
      [{ name: 'k', mode: 'live', scopes: ['admin'] }, 'invalid_request'],
      [{ name: 'k', mode: 'live', expires_at: 'tomorrow' }, 'invalid_request'],
      [{ name: 'k', mode: 'live', expires_at: new Date(ctx.app.clock.now().getTime() - 1000).toISOString() }, 'invalid_request'],
      [{ name: 'k', mode: 'live', key_hash: 'abc' }, 'unknown_parameter'],
      [{ name: 'k', mode: 'live', max_concurrency: 1.5 }, 'invalid_request'],
    ];
    for (const [body, code] of invalid) {
      expectV1Error(await ctx.app.request('POST', path, { operator: true, body }), 400, code);
    }
    expectV1Error(await ctx.app.request('POST', '/api/public/customers/cus_nope/api-keys', { operator: true, body: { name: 'k', mode: 'live' } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('GET', '/api/public/customers/cus_nope/api-keys', { operator: true }), 404, 'not_found');
    expectV1Error(await ctx.app.request('DELETE', `${path}/${otherKey.id}`, { operator: true }), 404, 'not_found');
    expectV1Error(await ctx.app.request('POST', `${path}/${otherKey.id}/rotate`, { operator: true, body: {} }), 404, 'not_found');
    expect((await ctx.app.request('GET', '/v1/usage', { key: otherKey.key })).status).toBe(200);
  });

  it('C9: rotation copies settings; the old key works until the grace ends, then 401; both audited', async () => {
    const customer = await ctx.app.createCustomer();
    const old = await ctx.app.createKey(customer.id, { allowed_models: ['m1'], rate_limit_rpm: 30, scopes: ['images'] });
    const rotated = await ctx.app.request('POST', `/api/public/customers/${customer.id}/api-keys/${old.id}/rotate`, { operator: true, body: { grace_seconds: 86_400 } });
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ allowed_models: ['m1'], rate_limit_rpm: 30, scopes: ['images'], rotated_from: old.id, mode: 'live' });
    expect(rotated.body.key).not.toBe(old.key);
    expect((await ctx.app.request('GET', '/v1/usage', { key: old.key })).status).toBe(200);
    ctx.app.clock.advance(86_400_000 - 1000);
    expect((await ctx.app.request('GET', '/v1/usage', { key: old.key })).status).toBe(200);
    ctx.app.clock.advance(1000);
    expectV1Error(await ctx.app.request('GET', '/v1/usage', { key: old.key }), 401, 'api_key_expired');
    expect((await ctx.app.request('GET', '/v1/usage', { key: rotated.body.key })).status).toBe(200);
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${old.id}&action=api_key.rotate`, { operator: true });
    expect(audit.body.data).toHaveLength(1);
    expectV1Error(await ctx.app.request('POST', `/api/public/customers/${customer.id}/api-keys/${old.id}/rotate`, { operator: true, body: { grace_seconds: 8 * 86_400 } }), 400, 'invalid_request');
  });

  it('revocation is final and idempotent', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id);
    const first = await ctx.app.request('DELETE', `/api/public/customers/${customer.id}/api-keys/${key.id}`, { operator: true });
    const second = await ctx.app.request('DELETE', `/api/public/customers/${customer.id}/api-keys/${key.id}`, { operator: true });
    expect(second.body.revoked_at).toBe(first.body.revoked_at);
    expectV1Error(await ctx.app.request('POST', `/api/public/customers/${customer.id}/api-keys/${key.id}/rotate`, { operator: true, body: {} }), 409, 'conflict');
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${key.id}&action=api_key.revoke`, { operator: true });
    expect(audit.body.data).toHaveLength(1);
  });

  it('audit events cannot be changed (append-only trigger)', async () => {
    await ctx.app.createCustomer();
    await expect(ctx.app.deps.db.query("UPDATE audit_events SET actor = 'x'")).rejects.toMatchObject({ code: 'GR001' });
    await expect(ctx.app.deps.db.query('DELETE FROM audit_events')).rejects.toMatchObject({ code: 'GR001' });
  });
});
