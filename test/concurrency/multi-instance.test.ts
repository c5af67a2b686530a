import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../harness/app.js';
import { createTestDatabase, type TestDatabase } from '../harness/databases.js';

/** Two instances on one PostgreSQL database: key changes propagate through LISTEN/NOTIFY (K7, checklist C6). */
let database: TestDatabase;
let first: TestApp;
let second: TestApp;

beforeAll(async () => {
  database = await createTestDatabase('postgres', 10);
  first = await startTestApp({ database });
  second = await startTestApp({ database });
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await database?.drop();
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('condition not reached in time');
}

describe('cache invalidation across instances', () => {
  it('C6: a key revoked on one instance is refused by another with a warm cache, well within 30 s', async () => {
    const customer = await first.createCustomer();
    const key = await first.createKey(customer.id);
    expect((await second.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
    await first.request('DELETE', `/api/public/customers/${customer.id}/api-keys/${key.id}`, { operator: true });
    const elapsed = await eventually(async () => (await second.request('GET', '/v1/usage', { key: key.key })).status === 401);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('a customer suspended on one instance is refused by the other', async () => {
    const customer = await first.createCustomer();
    const key = await first.createKey(customer.id);
    expect((await second.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
    await first.request('PATCH', `/api/public/customers/${customer.id}`, { operator: true, body: { status: 'suspended' } });
    await eventually(async () => (await second.request('GET', '/v1/usage', { key: key.key })).status === 403);
  });

  it('without a broadcast the cache entry still ends at the 30 s TTL (injected clock)', async () => {
    const customer = await first.createCustomer();
    const key = await first.createKey(customer.id);
    expect((await second.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
    // Revoke behind every cache's back: no eviction, no NOTIFY.
    await database.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [key.id]);
    expect((await second.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
    second.clock.advance(30_000);
    expect((await second.request('GET', '/v1/usage', { key: key.key })).body.error.code).toBe('api_key_revoked');
  });
});
