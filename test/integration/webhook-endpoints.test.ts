import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUntilDone, testCustomer } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/** Registered webhook endpoints (API.md §9, SEMANTICS H3–H5). */
const ctx = useTestApp();
let receiver: Server;
let receiverUrl = '';
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/events`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

describe('webhook endpoints', () => {
  it('creates an endpoint with its own secret shown once, lists and reads it, and 404s other customers', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url: receiverUrl, events: ['task.succeeded'], description: 'ops' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'webhook_endpoint', url: receiverUrl, events: ['task.succeeded'], status: 'enabled', mode: 'test' });
    expect(created.body.secret).toMatch(/^whsec_/);
    const listed = await ctx.app.request('GET', '/v1/webhook-endpoints', { key: owner.key });
    expect(listed.body.data.map((row: any) => row.id)).toEqual([created.body.id]);
    expect(listed.text).not.toContain(created.body.secret);
    const fetched = await ctx.app.request('GET', `/v1/webhook-endpoints/${created.body.id}`, { key: owner.key });
    expect(fetched.body.secret).toBeUndefined();
    const stranger = await testCustomer(ctx.app);
    expectV1Error(await ctx.app.request('GET', `/v1/webhook-endpoints/${created.body.id}`, { key: stranger.key }), 404, 'not_found');
    expectV1Error(await ctx.app.request('DELETE', `/v1/webhook-endpoints/${created.body.id}`, { key: stranger.key }), 404, 'not_found');
    expectV1Error(await ctx.app.request('POST', `/v1/webhook-endpoints/${created.body.id}/rotate-secret`, { key: stranger.key }), 404, 'not_found');
    expect((await ctx.app.request('GET', '/v1/webhook-endpoints', { key: stranger.key })).body.data).toEqual([]);
  });

  it('rejects missing keys, private URLs, unknown events and unknown fields', async () => {
    const owner = await testCustomer(ctx.app);
    expectV1Error(await ctx.app.request('POST', '/v1/webhook-endpoints', { body: { url: receiverUrl } }), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('GET', '/v1/webhook-endpoints'), 401, 'invalid_api_key');
    for (const body of [{ url: 'https://10.0.0.1/hook' }, { url: 'ftp://example.com/hook' }, { url: receiverUrl, events: ['task.exploded'] }, { url: receiverUrl, secret: 'mine' }, {}]) {
      const response = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await ctx.app.request('GET', '/v1/webhook-endpoints', { key: owner.key })).body.data).toEqual([]);
  });

  it('delivers task events in the {type, timestamp, data} envelope signed with the endpoint secret; Idempotency-Key replays', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url: receiverUrl }, headers: { 'idempotency-key': 'ep-1' } });
    const replay = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url: receiverUrl }, headers: { 'idempotency-key': 'ep-1' } });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(created.body.id);
    expect(replay.body.secret).toBeUndefined();
    received.length = 0;
    const task = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'a calm piano piece' } });
    await runUntilDone(ctx.app, task.body.id);
    await ctx.app.worker.deliverOnce();
    expect(received).toHaveLength(1);
    const event = JSON.parse(received[0]!.body);
    expect(event).toMatchObject({ type: 'task.succeeded', data: { id: task.body.id, status: 'succeeded' } });
    expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);
    const headers = received[0]!.headers as Record<string, string>;
    expect(() => new Webhook(created.body.secret).verify(received[0]!.body, headers)).not.toThrow();
    // Rotation: the old secret keeps verifying for 24 h alongside the new one.
    const rotated = await ctx.app.request('POST', `/v1/webhook-endpoints/${created.body.id}/rotate-secret`, { key: owner.key });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    received.length = 0;
    const second = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'a second piece' } });
    await runUntilDone(ctx.app, second.body.id);
    await ctx.app.worker.deliverOnce();
    const secondHeaders = received[0]!.headers as Record<string, string>;
    expect(secondHeaders['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(created.body.secret).verify(received[0]!.body, secondHeaders)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(received[0]!.body, secondHeaders)).not.toThrow();
    // Deleted endpoints get nothing more and are 404.
    const deleted = await ctx.app.request('DELETE', `/v1/webhook-endpoints/${created.body.id}`, { key: owner.key });
    expect(deleted.body).toEqual({ id: created.body.id, object: 'webhook_endpoint', deleted: true });
    expectV1Error(await ctx.app.request('GET', `/v1/webhook-endpoints/${created.body.id}`, { key: owner.key }), 404, 'not_found');
    received.length = 0;
    const third = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'a third piece' } });
    await runUntilDone(ctx.app, third.body.id);
    await ctx.app.worker.deliverOnce();
    expect(received).toHaveLength(0);
  });
});

describe('endpoints that never succeed (C49)', () => {
  it('are disabled after 5 days without a success, with the reason shown, and their pending deliveries cancelled', async () => {
    const failing = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(500).end());
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const address = failing.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/down`;
    try {
      const owner = await testCustomer(ctx.app);
      const endpoint = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url } });
      const first = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'first' } });
      await runUntilDone(ctx.app, first.body.id);
      await ctx.app.worker.deliverOnce();
      expect((await ctx.app.request('GET', `/v1/webhook-endpoints/${endpoint.body.id}`, { key: owner.key })).body.status).toBe('enabled');
      ctx.app.clock.advance(5 * 86_400_000 + 60_000);
      const second = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'second' } });
      await runUntilDone(ctx.app, second.body.id);
      await ctx.app.worker.deliverOnce();
      const after = await ctx.app.request('GET', `/v1/webhook-endpoints/${endpoint.body.id}`, { key: owner.key });
      expect(after.body.status).toBe('disabled');
      const pending = await ctx.app.deps.db.query("SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'", [endpoint.body.id]);
      expect(pending.rows).toHaveLength(0);
      const reason = await ctx.app.deps.db.query<{ disabled_reason: string }>('SELECT disabled_reason FROM webhook_endpoints WHERE id = $1', [endpoint.body.id]);
      expect(reason.rows[0]!.disabled_reason).toContain('5 days');
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});
