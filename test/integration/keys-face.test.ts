import { describe, expect, it } from 'vitest';
import { useTestApp } from '../harness/setup.js';

/** Key self-service face (API.md §7, SEMANTICS K10, K14): `{"detail": ...}` errors, shown-once keys. */
const ctx = useTestApp();
const PATH = '/api/v1/auth/api-keys';

async function setup(keyBody: Record<string, unknown> = {}) {
  const customer = await ctx.app.createCustomer();
  const key = await ctx.app.createKey(customer.id, keyBody);
  return { customer, key };
}

describe('key self-service', () => {
  it('rejects missing, malformed, unknown, revoked and expired keys with the detail body', async () => {
    const { customer, key } = await setup({ expires_at: new Date(ctx.app.clock.now().getTime() + 1000).toISOString() });
    const revokedSetup = await setup();
    await ctx.app.request('DELETE', `/api/public/customers/${revokedSetup.customer.id}/api-keys/${revokedSetup.key.id}`, { operator: true });
    for (const [method, path, body] of [['GET', PATH], ['POST', PATH, { name: 'x' }], ['DELETE', `${PATH}/key_x`], ['POST', `${PATH}/key_x/rotate`, {}]] as const) {
      const missing = await ctx.app.request(method, path, { body });
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ detail: 'Invalid or missing API key' });
      const bad = await ctx.app.request(method, path, { body, headers: { 'x-api-key': 'ak_live_nonsense' } });
      expect(bad.body).toEqual({ detail: 'Invalid or missing API key' });
      const revoked = await ctx.app.request(method, path, { body, headers: { 'x-api-key': revokedSetup.key.key } });
      expect(revoked.status).toBe(401);
      expect(revoked.body).toEqual({ detail: 'API key revoked' });
    }
    ctx.app.clock.advance(2000);
    const expired = await ctx.app.request('GET', PATH, { headers: { 'x-api-key': key.key } });
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ detail: 'API key expired' });
    expect(customer.id).toBeTruthy();
  });

  it('creates a key of the caller\'s mode, shown once, with the documented fields', async () => {
    const { key } = await setup({ mode: 'test' });
    const created = await ctx.app.request('POST', PATH, { headers: { 'x-api-key': key.key }, body: { name: 'Production Server', expires_at: '2099-12-31T23:59:59Z' } });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['created_at', 'expires_at', 'id', 'key', 'key_prefix', 'last_used_at', 'mode', 'name', 'scopes'].sort());
    expect(created.body).toMatchObject({ name: 'Production Server', mode: 'test', expires_at: '2099-12-31T23:59:59.000Z', last_used_at: null });
    expect(created.body.key).toMatch(/^ak_test_/);
    const listed = await ctx.app.request('GET', PATH, { headers: { 'x-api-key': created.body.key } });
    expect(listed.status).toBe(200);
    expect(listed.body.map((row: any) => row.id).sort()).toEqual([key.id, created.body.id].sort());
    expect(listed.text).not.toContain(created.body.key);
    expect(listed.body.every((row: any) => row.key === undefined)).toBe(true);
  });

  it('K10: a test key cannot create a live key; scopes never widen; limits are inherited', async () => {
    const { key: testKey } = await setup({ mode: 'test' });
    const live = await ctx.app.request('POST', PATH, { headers: { 'x-api-key': testKey.key }, body: { name: 'x', mode: 'live' } });
    expect(live.status).toBe(403);
    expect(live.body.detail).toMatch(/test key/);
    const { customer, key: scoped } = await setup({ scopes: ['keys', 'images'], allowed_models: ['m1'], rate_limit_rpm: 30 });
    const wider = await ctx.app.request('POST', PATH, { headers: { 'x-api-key': scoped.key }, body: { name: 'x', scopes: ['videos'] } });
    expect(wider.status).toBe(403);
    const narrower = await ctx.app.request('POST', PATH, { headers: { 'x-api-key': scoped.key }, body: { name: 'x', scopes: ['images'] } });
    expect(narrower.status).toBe(201);
    expect(narrower.body.scopes).toEqual(['images']);
    const operatorView = await ctx.app.request('GET', `/api/public/customers/${customer.id}/api-keys`, { operator: true });
    const child = operatorView.body.data.find((row: any) => row.id === narrower.body.id);
    expect(child).toMatchObject({ allowed_models: ['m1'], rate_limit_rpm: 30 });
    // A key without the `keys` scope cannot use this face at all.
    const noKeysScope = await ctx.app.request('GET', PATH, { headers: { 'x-api-key': narrower.body.key } });
    expect(noKeysScope.status).toBe(403);
    expect(noKeysScope.body).toEqual({ detail: 'This API key lacks the "keys" scope' });
  });

  it('rejects invalid bodies with 400 detail bodies and stores nothing', async () => {
    const { customer, key } = await setup();
    for (const body of [{}, { name: '' }, { name: 'x', customer_id: 'c' }, { name: 'x', mode: 'prod' }, { name: 'x', expires_at: 'never' }, { name: 'x', expires_at: '2001-01-01T00:00:00Z' }, { name: 'x', scopes: ['root'] }]) {
      const response = await ctx.app.request('POST', PATH, { headers: { 'x-api-key': key.key }, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(typeof response.body.detail).toBe('string');
    }
    const listed = await ctx.app.request('GET', `/api/public/customers/${customer.id}/api-keys`, { operator: true });
    expect(listed.body.data).toHaveLength(1);
  });

  it('DELETE revokes: 204, then the key gets 401 everywhere; other customers\' keys are 404', async () => {
    const { key } = await setup();
    const created = await ctx.app.request('POST', PATH, { headers: { 'x-api-key': key.key }, body: { name: 'temp' } });
    const other = await setup();
    const foreign = await ctx.app.request('DELETE', `${PATH}/${other.key.id}`, { headers: { 'x-api-key': key.key } });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ detail: 'No such API key' });
    const unknown = await ctx.app.request('DELETE', `${PATH}/key_doesnotexist`, { headers: { 'x-api-key': key.key } });
    expect(unknown.body).toEqual(foreign.body);
    const deleted = await ctx.app.request('DELETE', `${PATH}/${created.body.id}`, { headers: { 'x-api-key': key.key } });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await ctx.app.request('GET', '/v1/usage', { key: created.body.key })).body.error.code).toBe('api_key_revoked');
    expect((await ctx.app.request('GET', PATH, { headers: { 'x-api-key': created.body.key } })).body).toEqual({ detail: 'API key revoked' });
    expect((await ctx.app.request('GET', `/v1/usage`, { key: other.key.key })).status).toBe(200);
  });

  it('a test key cannot see or revoke the customer\'s live keys', async () => {
    const { customer, key: live } = await setup();
    const testKey = await ctx.app.createKey(customer.id, { mode: 'test' });
    const listed = await ctx.app.request('GET', PATH, { headers: { 'x-api-key': testKey.key } });
    expect(listed.body.map((row: any) => row.id)).toEqual([testKey.id]);
    const revoke = await ctx.app.request('DELETE', `${PATH}/${live.id}`, { headers: { 'x-api-key': testKey.key } });
    expect(revoke.status).toBe(404);
    expect((await ctx.app.request('GET', '/v1/usage', { key: live.key })).status).toBe(200);
  });

  it('C9: rotate gives a new key with the same settings; the old one lasts the grace period', async () => {
    const { key } = await setup({ rate_limit_rpm: 100 });
    const rotated = await ctx.app.request('POST', `${PATH}/${key.id}/rotate`, { headers: { 'x-api-key': key.key }, body: { grace_seconds: 3600 } });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).toMatch(/^ak_live_/);
    ctx.app.clock.advance(3_599_000);
    expect((await ctx.app.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
    ctx.app.clock.advance(1_000);
    expect((await ctx.app.request('GET', '/v1/usage', { key: key.key })).body.error.code).toBe('api_key_expired');
    const fresh = await ctx.app.request('GET', '/v1/usage', { key: rotated.body.key });
    expect(fresh.headers.get('ratelimit-policy')).toBe('"key";q=100;w=60');
    const tooLong = await ctx.app.request('POST', `${PATH}/${rotated.body.id}/rotate`, { headers: { 'x-api-key': rotated.body.key }, body: { grace_seconds: 700_000 } });
    expect(tooLong.status).toBe(400);
    const defaulted = await ctx.app.request('POST', `${PATH}/${rotated.body.id}/rotate`, { headers: { 'x-api-key': rotated.body.key } });
    expect(defaulted.status).toBe(201);
  });
});
