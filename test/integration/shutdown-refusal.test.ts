import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../harness/app.js';
import { expectV1Error } from '../harness/setup.js';

/**
 * Once shutdown has begun (SEMANTICS "Shutdown"), a request that still reaches the server on an open connection is
 * refused with the documented error body — 503 `shutting_down`, Retry-After 1, Connection: close — before it is
 * authenticated or does any work; readiness answers 503 so a load balancer stops sending.
 */
let app: TestApp;
let key = '';

beforeAll(async () => {
  app = await startTestApp();
  const customer = await app.createCustomer();
  await app.grant(customer.id, 10_000);
  key = (await app.createKey(customer.id, { mode: 'live' })).key;
});

afterAll(async () => {
  await app.close();
});

describe('requests during shutdown', () => {
  it('are answered before shutdown, refused with 503 shutting_down after it began', async () => {
    expect((await app.request('GET', '/v1/models', { key })).status).toBe(200);
    app.app.inflight.begin();
    const refused = await app.request('GET', '/v1/models', { key });
    expectV1Error(refused, 503, 'shutting_down');
    expect(refused.body.error.type).toBe('capacity_error');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('connection')).toBe('close');
    // Before authentication: a bad key and a bad body get the same answer, and nothing is stored.
    expectV1Error(await app.request('GET', '/v1/models', { key: 'ak_live_not-a-key' }), 503, 'shutting_down');
    expectV1Error(await app.request('POST', '/v1/videos', { key, body: { model: 'no-such-model' } }), 503, 'shutting_down');
    const tasks = await app.deps.db.query('SELECT count(*)::int AS n FROM tasks');
    expect(tasks.rows[0]).toEqual({ n: 0 });
    expect((await app.request('GET', '/readyz')).status).toBe(503);
  });
});
