import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../harness/app.js';
import { createTestDatabase, type TestDatabase } from '../harness/databases.js';

/** Shared rate limits across instances through Redis (R2), and failing open when the store is down (R3, C64). */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let database: TestDatabase;
let first: TestApp;
let second: TestApp;
let storeDown: TestApp;

beforeAll(async () => {
  database = await createTestDatabase('postgres', 10);
  first = await startTestApp({ database, env: { REDIS_URL } });
  second = await startTestApp({ database, env: { REDIS_URL } });
  // Nothing listens on port 1: every limiter call fails.
  storeDown = await startTestApp({ database, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await storeDown?.close();
  await database?.drop();
});

describe('Redis rate limits', () => {
  it('one limit across two instances', async () => {
    const customer = await first.createCustomer();
    const key = await first.createKey(customer.id, { rate_limit_rpm: 3 });
    const statuses = [];
    for (const app of [first, second, first, second]) {
      statuses.push((await app.request('GET', '/v1/usage', { key: key.key })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('C64: with the store down, requests proceed, a warning metric counts, and no limit headers are invented', async () => {
    const customer = await storeDown.createCustomer();
    const key = await storeDown.createKey(customer.id, { rate_limit_rpm: 1 });
    for (let index = 0; index < 3; index += 1) {
      const response = await storeDown.request('GET', '/v1/usage', { key: key.key });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit')).toBeNull();
    }
    expect(storeDown.deps.metrics.value('genrelay_ratelimit_store_errors_total')).toBeGreaterThanOrEqual(3);
    const metrics = await storeDown.request('GET', '/metrics');
    expect(metrics.text).toContain('genrelay_ratelimit_store_errors_total');
  });
});
