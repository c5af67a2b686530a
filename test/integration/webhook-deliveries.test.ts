import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_KEY } from '../harness/app.js';
import { runUntilDone } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * Webhook deliveries (issue 10, API.md §9 "Deliveries"): the customer lists its own (customer and mode) with each
 * attempt's time, target host, status code and duration, and retries a failed or cancelled one with the same
 * webhook-id; the operator lists everyone's. A loopback receiver answers 410 under `/gone` (the delivery ends
 * `cancelled`) and 200 elsewhere.
 */
const ctx = useTestApp();

interface Party {
  customerId: string;
  test: { id: string; key: string };
  live: { id: string; key: string };
}

let server: Server;
let hook = '';
const received: Array<{ path: string; webhookId: string }> = [];
let A: Party;
let B: Party;
let goneTask = '';
let okTask = '';

async function party(name: string): Promise<Party> {
  const customer = await ctx.app.createCustomer({ name });
  await ctx.app.grant(customer.id, 1_000_000, 'test');
  const test = await ctx.app.createKey(customer.id, { mode: 'test', name: `${name} test` });
  const live = await ctx.app.createKey(customer.id, { mode: 'live', name: `${name} live` });
  return { customerId: customer.id, test: { id: test.id, key: test.key }, live: { id: live.id, key: live.key } };
}

async function videoWithCallback(key: string, callbackUrl: string): Promise<string> {
  const created = await ctx.app.request('POST', '/v1/videos', { key, body: { model: 'seedance-2.0-fast', prompt: 'a heron', seconds: 5, callback_url: callbackUrl } });
  expect(created.status, created.text).toBe(202);
  const task = await runUntilDone(ctx.app, created.body.id);
  expect(task.status).toBe('succeeded');
  await ctx.app.worker.drain();
  return created.body.id as string;
}

async function deliveryOf(key: string, taskId: string): Promise<any> {
  const listed = await ctx.app.request('GET', `/v1/webhook-deliveries?task_id=${taskId}`, { key });
  expect(listed.status, listed.text).toBe(200);
  expect(listed.body.data).toHaveLength(1);
  return listed.body.data[0];
}

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push({ path: request.url ?? '', webhookId: String(request.headers['webhook-id'] ?? '') });
      response.writeHead(request.url?.startsWith('/gone') ? 410 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  A = await party('Deliveries A');
  B = await party('Deliveries B');
  goneTask = await videoWithCallback(A.test.key, `${hook}/gone/orders/42?token=callback-secret-token`);
  okTask = await videoWithCallback(A.test.key, `${hook}/ok`);
  await videoWithCallback(B.test.key, `${hook}/ok/b`);
}, 120_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('GET /v1/webhook-deliveries', () => {
  it('lists the caller\'s deliveries with each attempt\'s time, target host, status code and duration — never the callback path', async () => {
    const listed = await ctx.app.request('GET', '/v1/webhook-deliveries', { key: A.test.key });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toMatchObject({ object: 'list', has_more: false });
    expect(listed.body.data.map((row: any) => row.task_id).sort()).toEqual([goneTask, okTask].sort());
    const gone = listed.body.data.find((row: any) => row.task_id === goneTask);
    const host = new URL(hook).host;
    expect(gone).toMatchObject({
      object: 'webhook_delivery', mode: 'test', event_type: 'task.succeeded', endpoint_id: null, target_host: host,
      status: 'cancelled', attempt_count: 1, last_status_code: 410, next_attempt_at: null, webhook_id: expect.stringMatching(/^msg_/),
    });
    expect(gone.attempts).toEqual([
      { attempt: 1, attempted_at: expect.any(String), target_host: host, status_code: 410, duration_ms: expect.any(Number), error: null },
    ]);
    expect(Number.isNaN(Date.parse(gone.attempts[0].attempted_at))).toBe(false);
    expect(listed.text).not.toContain('/gone');
    expect(listed.text).not.toContain('callback-secret-token');
    expect(gone).not.toHaveProperty('customer_id');
    const ok = listed.body.data.find((row: any) => row.task_id === okTask);
    expect(ok).toMatchObject({ status: 'delivered', attempt_count: 1, last_status_code: 200 });
  });

  it('filters by task, endpoint and status, pages with limit/after, and scopes to the key\'s mode', async () => {
    expect((await deliveryOf(A.test.key, okTask)).status).toBe('delivered');
    const cancelled = await ctx.app.request('GET', '/v1/webhook-deliveries?status=cancelled', { key: A.test.key });
    expect(cancelled.body.data.map((row: any) => row.task_id)).toEqual([goneTask]);
    const byEndpoint = await ctx.app.request('GET', '/v1/webhook-deliveries?endpoint_id=we_none', { key: A.test.key });
    expect(byEndpoint.body.data).toEqual([]);
    const first = await ctx.app.request('GET', '/v1/webhook-deliveries?limit=1', { key: A.test.key });
    expect(first.body.data).toHaveLength(1);
    expect(first.body.has_more).toBe(true);
    const second = await ctx.app.request('GET', `/v1/webhook-deliveries?limit=1&after=${first.body.data[0].id}`, { key: A.test.key });
    expect(second.body.data).toHaveLength(1);
    expect(second.body.has_more).toBe(false);
    expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
    // Another customer's task id and the caller's other mode list nothing.
    const live = await ctx.app.request('GET', '/v1/webhook-deliveries', { key: A.live.key });
    expect(live.body.data).toEqual([]);
    const foreign = await ctx.app.request('GET', `/v1/webhook-deliveries?task_id=${goneTask}`, { key: B.test.key });
    expect(foreign.body.data).toEqual([]);
  });

  it('invalid input → 400 naming the parameter; no key or the operator key → 401', async () => {
    const cases: Array<[string, string, string]> = [
      ['?status=lost', 'invalid_request', 'status'],
      ['?limit=0', 'invalid_request', 'limit'],
      ['?limit=abc', 'invalid_request', 'limit'],
      ['?colour=red', 'unknown_parameter', 'colour'],
    ];
    for (const [query, code, param] of cases) {
      const response = await ctx.app.request('GET', `/v1/webhook-deliveries${query}`, { key: A.test.key });
      expectV1Error(response, 400, code);
      expect(response.body.error.param, query).toBe(param);
    }
    expectV1Error(await ctx.app.request('GET', '/v1/webhook-deliveries'), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('GET', '/v1/webhook-deliveries', { key: OPERATOR_KEY }), 401, 'invalid_api_key');
  });
});

describe('POST /v1/webhook-deliveries/:id/retry', () => {
  it('puts a cancelled delivery back to pending now with the same webhook-id, audited; the sender re-sends it', async () => {
    const before = await deliveryOf(A.test.key, goneTask);
    const sent = received.filter((entry) => entry.path.startsWith('/gone')).length;
    const retried = await ctx.app.request('POST', `/v1/webhook-deliveries/${before.id}/retry`, { key: A.test.key });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body).toMatchObject({ id: before.id, status: 'pending', webhook_id: before.webhook_id, attempt_count: 1, completed_at: null });
    expect(retried.body.next_attempt_at).toBe(ctx.app.clock.now().toISOString());
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_type=webhook_delivery&target_id=${before.id}`, { operator: true });
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({
      action: 'webhook_delivery.retry', actor: `api_key:${A.test.id}`, before: { status: 'cancelled', attempts: 1 }, after: { status: 'pending' },
    });
    await ctx.app.worker.drain();
    const resent = received.filter((entry) => entry.path.startsWith('/gone'));
    expect(resent).toHaveLength(sent + 1);
    expect(resent.at(-1)!.webhookId).toBe(before.webhook_id);
    const after = await deliveryOf(A.test.key, goneTask);
    expect(after).toMatchObject({ status: 'cancelled', attempt_count: 2 });
    expect(after.attempts.map((attempt: any) => [attempt.attempt, attempt.status_code])).toEqual([[1, 410], [2, 410]]);
  });

  it('a delivered or pending delivery → 409 conflict; nothing changes', async () => {
    const delivered = await deliveryOf(A.test.key, okTask);
    expectV1Error(await ctx.app.request('POST', `/v1/webhook-deliveries/${delivered.id}/retry`, { key: A.test.key }), 409, 'conflict');
    const gone = await deliveryOf(A.test.key, goneTask);
    expect((await ctx.app.request('POST', `/v1/webhook-deliveries/${gone.id}/retry`, { key: A.test.key })).status).toBe(200);
    expectV1Error(await ctx.app.request('POST', `/v1/webhook-deliveries/${gone.id}/retry`, { key: A.test.key }), 409, 'conflict');
    await ctx.app.worker.drain();
    expect((await deliveryOf(A.test.key, okTask)).status).toBe('delivered');
  });

  it('another customer\'s delivery, the other mode\'s and an unknown id → the same 404; no key or the operator key → 401', async () => {
    const gone = await deliveryOf(A.test.key, goneTask);
    const unknown = await ctx.app.request('POST', '/v1/webhook-deliveries/whd_task_nothing/retry', { key: A.test.key });
    expectV1Error(unknown, 404, 'not_found');
    for (const key of [B.test.key, A.live.key, B.live.key]) {
      const response = await ctx.app.request('POST', `/v1/webhook-deliveries/${gone.id}/retry`, { key });
      expectV1Error(response, 404, 'not_found');
      expect(response.body.error.message).toBe(unknown.body.error.message);
    }
    expect((await deliveryOf(A.test.key, goneTask)).status).toBe('cancelled');
    expectV1Error(await ctx.app.request('POST', `/v1/webhook-deliveries/${gone.id}/retry`), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('POST', `/v1/webhook-deliveries/${gone.id}/retry`, { key: OPERATOR_KEY }), 401, 'invalid_api_key');
    const tooLong = await ctx.app.request('POST', `/v1/webhook-deliveries/${'x'.repeat(65)}/retry`, { key: A.test.key });
    expectV1Error(tooLong, 400, 'invalid_request');
    expect(tooLong.body.error.param).toBe('id');
  });
});

describe('GET /api/admin/webhook-deliveries', () => {
  it('lists every customer\'s deliveries with the customer id, filterable by customer and status', async () => {
    const all = await ctx.app.request('GET', '/api/admin/webhook-deliveries?limit=100', { operator: true });
    expect(all.status, all.text).toBe(200);
    const customers = new Set(all.body.data.map((row: any) => row.customer_id));
    expect(customers.has(A.customerId) && customers.has(B.customerId)).toBe(true);
    const onlyB = await ctx.app.request('GET', `/api/admin/webhook-deliveries?customer=${B.customerId}`, { operator: true });
    expect(onlyB.body.data).toHaveLength(1);
    expect(onlyB.body.data[0]).toMatchObject({ customer_id: B.customerId, status: 'delivered', target_host: new URL(hook).host });
    expect(onlyB.text).not.toContain('/ok/b');
    const cancelled = await ctx.app.request('GET', '/api/admin/webhook-deliveries?status=cancelled', { operator: true });
    expect(cancelled.body.data.map((row: any) => row.task_id)).toEqual([goneTask]);
    const paged = await ctx.app.request('GET', '/api/admin/webhook-deliveries?limit=2', { operator: true });
    expect(paged.body).toMatchObject({ object: 'list', has_more: true });
  });

  it('invalid input → 400 naming the parameter; no key and customer keys → 401', async () => {
    for (const [query, param] of [['?status=lost', 'status'], ['?limit=101', 'limit'], ['?mode=staging', 'mode']]) {
      const response = await ctx.app.request('GET', `/api/admin/webhook-deliveries${query}`, { operator: true });
      expect(response.status, response.text).toBe(400);
      expect(response.body.error.param).toBe(param);
    }
    for (const key of [undefined, A.test.key, A.live.key]) {
      const response = await ctx.app.request('GET', '/api/admin/webhook-deliveries', key === undefined ? {} : { key });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('invalid_api_key');
    }
  });
});
