import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { runLiveUntilDone, runUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * The operator's task views (issue 10, API.md §8 "Tasks"): every customer's tasks with what only the operator sees
 * (channel, account label, upstream task id, attempts, channels tried, timings, charge, upstream error detail), and
 * the operator's audited cancel. A live task runs through the mock upstreams, test tasks on the sandbox.
 */
const ctx = useTestApp();

let mocks: RunningMock;
let A: { customerId: string; test: string; live: string };
let B: { customerId: string; test: string };
let liveTask = '';
let testTask = '';
let imageTask = '';
let foreignTask = '';
let channelId = '';
let accountId = '';

async function create(key: string, path: string, body: Record<string, unknown>): Promise<string> {
  const created = await ctx.app.request('POST', path, { key, body });
  expect(created.status, created.text).toBeLessThan(300);
  return created.body.id as string;
}

const video = (key: string, prompt = 'a heron') => create(key, '/v1/videos', { model: 'seedance-2.0-fast', prompt, seconds: 5 });

function operator(method: string, path: string, body?: unknown) {
  return ctx.app.request(method, path, { operator: true, ...(body === undefined ? {} : { body }) });
}

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 20, runningMs: 40 });
  const channel = await operator('POST', '/api/admin/channels', {
    name: 'ark admin-tasks', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { 'seedance-2.0-fast': 'dreamina-seedance-2-0-fast-260128' }
  });
  expect(channel.status, channel.text).toBe(201);
  channelId = channel.body.id;
  const account = await operator('POST', '/api/accounts', { channel_id: channelId, credential: 'mock-key', label: 'pool-a' });
  expect(account.status, account.text).toBe(201);
  accountId = account.body.id;

  const a = await ctx.app.createCustomer({ name: 'Tasks A' });
  const b = await ctx.app.createCustomer({ name: 'Tasks B' });
  for (const customer of [a, b]) for (const mode of ['test', 'live'] as const) await ctx.app.grant(customer.id, 1_000_000, mode);
  A = { customerId: a.id, test: (await ctx.app.createKey(a.id, { mode: 'test' })).key, live: (await ctx.app.createKey(a.id, { mode: 'live' })).key };
  B = { customerId: b.id, test: (await ctx.app.createKey(b.id, { mode: 'test' })).key };

  liveTask = await video(A.live, 'a live heron');
  expect((await runLiveUntilDone(ctx.app, liveTask)).status).toBe('succeeded');
  testTask = await video(A.test);
  expect((await runUntilDone(ctx.app, testTask)).status).toBe('succeeded');
  imageTask = await create(A.test, '/v1/images/generations', { model: 'gpt-image-2', prompt: 'a kite', size: '1024x1024', quality: 'low', async: true });
  expect((await runUntilDone(ctx.app, imageTask)).status).toBe('succeeded');
  foreignTask = await video(B.test, 'b heron');
  expect((await runUntilDone(ctx.app, foreignTask)).status).toBe('succeeded');
}, 240_000);

afterAll(async () => {
  await mocks?.close();
});

describe('GET /api/admin/tasks/:id', () => {
  it('shows what only the operator sees: channel, account and its label, upstream task id, attempts, timings, charge', async () => {
    const response = await operator('GET', `/api/admin/tasks/${liveTask}`);
    expect(response.status, response.text).toBe(200);
    const task = response.body;
    expect(task).toMatchObject({
      id: liveTask, object: 'task', customer_id: A.customerId, mode: 'live', type: 'video', model: 'seedance-2.0-fast',
      status: 'succeeded', internal_status: 'succeeded', channel_id: channelId, account_id: accountId, account_label: 'pool-a',
      upstream_task_id: expect.any(String), attempts: 1, channels_tried: [], error: null, face: 'openai',
    });
    expect(task.provider).toBeTruthy();
    for (const field of ['created_at', 'submitted_at', 'completed_at']) expect(Number.isNaN(Date.parse(task[field])), field).toBe(false);
    expect(Date.parse(task.submitted_at)).toBeGreaterThanOrEqual(Date.parse(task.created_at));
    expect(Date.parse(task.completed_at)).toBeGreaterThanOrEqual(Date.parse(task.submitted_at));
    const row = (await ctx.app.deps.tasks.get(liveTask))!;
    expect(task.credits).toMatchObject({ reserved: Number(row.hold_amount), charged: Number(row.charged) });
    expect(task.credits.charged).toBeGreaterThan(0);
    // The customer's own view keeps all of it hidden (E3).
    const own = await ctx.app.request('GET', `/v1/tasks/${liveTask}`, { key: A.live });
    for (const hidden of ['channel_id', 'account_label', 'upstream_task_id', 'customer_id']) expect(own.body).not.toHaveProperty(hidden);
  });

  it('shows the upstream error detail beside the task error', async () => {
    const failing = await video(B.test, 'an upstream error');
    await ctx.app.deps.tasks.recordUpstreamError(failing, { class: 'upstream_error', message: 'the upstream said no', status: 503 });
    const response = await operator('GET', `/api/admin/tasks/${failing}`);
    expect(response.body.error).toEqual({ code: null, message: null, upstream_error: { class: 'upstream_error', message: 'the upstream said no', status: 503 } });
    expect((await operator('POST', `/api/admin/tasks/${failing}/cancel`)).status).toBe(200);
  });

  it('an unknown id → 404; no key and customer keys → 401', async () => {
    const unknown = await operator('GET', '/api/admin/tasks/task_0000000000000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    for (const key of [undefined, A.test, A.live]) {
      const response = await ctx.app.request('GET', `/api/admin/tasks/${testTask}`, key === undefined ? {} : { key });
      expect(response.status).toBe(401);
      expect(response.body.error).toMatchObject({ code: 'invalid_api_key', message: 'Invalid or missing operator key' });
    }
  });
});

describe('GET /api/admin/tasks', () => {
  it('lists every customer\'s tasks newest first, filtered by customer, model, status, type, mode and time', async () => {
    const all = await operator('GET', '/api/admin/tasks?limit=100');
    expect(all.status, all.text).toBe(200);
    const ids = all.body.data.map((task: any) => task.id);
    expect(ids).toEqual(expect.arrayContaining([liveTask, testTask, imageTask, foreignTask]));
    expect([...ids].sort().reverse()).toEqual(ids);
    const byCustomer = await operator('GET', `/api/admin/tasks?customer=${A.customerId}`);
    expect(new Set(byCustomer.body.data.map((task: any) => task.customer_id))).toEqual(new Set([A.customerId]));
    const images = await operator('GET', `/api/admin/tasks?type=image`);
    expect(images.body.data.map((task: any) => task.id)).toEqual([imageTask]);
    const model = await operator('GET', `/api/admin/tasks?model=gpt-image-2&status=succeeded`);
    expect(model.body.data.map((task: any) => task.id)).toEqual([imageTask]);
    const live = await operator('GET', `/api/admin/tasks?mode=live&customer=${A.customerId}`);
    expect(live.body.data.map((task: any) => task.id)).toEqual([liveTask]);
    expect(live.body.data[0].account_label).toBe('pool-a');
    const created = Date.parse((await operator('GET', `/api/admin/tasks/${imageTask}`)).body.created_at);
    const window = await operator('GET', `/api/admin/tasks?from=${new Date(created).toISOString()}&to=${new Date(created + 1).toISOString()}&type=image`);
    expect(window.body.data.map((task: any) => task.id)).toEqual([imageTask]);
    const before = await operator('GET', `/api/admin/tasks?to=${new Date(created).toISOString()}&type=image`);
    expect(before.body.data).toEqual([]);
    const first = await operator('GET', `/api/admin/tasks?limit=1&customer=${A.customerId}`);
    expect(first.body).toMatchObject({ object: 'list', has_more: true });
    const next = await operator('GET', `/api/admin/tasks?limit=100&customer=${A.customerId}&after=${first.body.data[0].id}`);
    expect(next.body.data.map((task: any) => task.id)).not.toContain(first.body.data[0].id);
    expect(next.body.data.length + 1).toBe(byCustomer.body.data.length);
  });

  it('invalid input → 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['?from=yesterday', 'from'], ['?to=10000-01-01T00:00:00Z', 'to'], ['?from=1969-12-31T23:59:59Z', 'from'],
      ['?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', 'to'], ['?limit=101', 'limit'], ['?status=stuck', 'status'],
      ['?type=podcast', 'type'], ['?mode=staging', 'mode'], ['?customer_id=x', 'customer_id'],
    ];
    for (const [query, param] of cases) {
      const response = await operator('GET', `/api/admin/tasks${query}`);
      expect(response.status, `${query}: ${response.text}`).toBe(400);
      expect(response.body.error.param, query).toBe(param);
    }
  });

  it('no key and customer keys → 401', async () => {
    for (const key of [undefined, A.test, A.live]) {
      const response = await ctx.app.request('GET', '/api/admin/tasks', key === undefined ? {} : { key });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('invalid_api_key');
    }
  });
});

describe('POST /api/admin/tasks/:id/cancel', () => {
  it('cancels any customer\'s queued task (released, never charged), audited; a finished one → 409', async () => {
    const queued = await video(B.test, 'to be cancelled');
    const response = await operator('POST', `/api/admin/tasks/${queued}/cancel`);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ id: queued, customer_id: B.customerId, status: 'cancelled', error: { code: 'cancelled' } });
    expect(response.body.credits.charged).toBe(0);
    const audit = await operator('GET', `/api/admin/audit?target_type=task&target_id=${queued}`);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ action: 'task.cancel', actor: 'operator-key', before: { status: 'queued' }, after: { status: 'cancelled', customer_id: B.customerId } });
    const again = await operator('POST', `/api/admin/tasks/${queued}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('task_not_cancellable');
    // A cancel that changes nothing writes no audit row.
    expect((await operator('GET', `/api/admin/audit?target_type=task&target_id=${queued}`)).body.data).toHaveLength(1);
    const done = await operator('POST', `/api/admin/tasks/${testTask}/cancel`);
    expect(done.status).toBe(409);
    expect((await operator('GET', `/api/admin/audit?target_type=task&target_id=${testTask}`)).body.data).toEqual([]);
  });

  it('the audit row is written in the transaction that cancels: when it cannot be written, the task is not cancelled', async () => {
    const queued = await video(B.test, 'audit must commit with the cancel');
    const db = ctx.app.deps.db;
    // A trigger that refuses this task's audit row: the cancel in the same transaction must roll back with it.
    await db.query(`CREATE FUNCTION gr_test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit refused for the test'; END $$`);
    await db.query(`CREATE TRIGGER gr_test_refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW
      WHEN (NEW.target_id = '${queued}') EXECUTE FUNCTION gr_test_refuse_audit()`);
    try {
      const refused = await operator('POST', `/api/admin/tasks/${queued}/cancel`);
      expect(refused.status).toBe(500);
      const task = (await ctx.app.deps.tasks.get(queued))!;
      expect(task.status).toBe('queued');
      const hold = await db.query<{ status: string }>('SELECT status FROM reservations WHERE task_id = $1', [queued]);
      expect(hold.rows[0]!.status).toBe('held');
    } finally {
      await db.query('DROP TRIGGER gr_test_refuse_audit ON audit_events');
      await db.query('DROP FUNCTION gr_test_refuse_audit()');
    }
    expect((await operator('GET', `/api/admin/audit?target_type=task&target_id=${queued}`)).body.data).toEqual([]);
    const cancelled = await operator('POST', `/api/admin/tasks/${queued}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect((await operator('GET', `/api/admin/audit?target_type=task&target_id=${queued}`)).body.data).toHaveLength(1);
  });

  it('a submitted task: the provider\'s cancel is asked first, then the cancel and its audit row commit together', async () => {
    // The sandbox provider (test keys) cancels a submitted task upstream-style; its time is the injected clock.
    const submitted = await video(A.test, 'a slow heron [[scenario:slow_queue;ms=600000]]');
    await ctx.app.worker.drain();
    expect((await ctx.app.deps.tasks.get(submitted))!.status).toBe('submitted');
    const response = await operator('POST', `/api/admin/tasks/${submitted}/cancel`);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ status: 'cancelled', internal_status: 'cancelled', credits: { charged: 0 } });
    const audit = (await operator('GET', `/api/admin/audit?target_type=task&target_id=${submitted}`)).body.data;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'task.cancel', before: { status: 'queued' }, after: { status: 'cancelled', customer_id: A.customerId } });
  });

  it('an unknown id → 404; no key and customer keys → 401 and nothing is cancelled', async () => {
    expect((await operator('POST', '/api/admin/tasks/task_0000000000000000000000/cancel')).status).toBe(404);
    const queued = await video(A.test, 'stays queued');
    for (const key of [undefined, A.test, A.live, B.test]) {
      const response = await ctx.app.request('POST', `/api/admin/tasks/${queued}/cancel`, key === undefined ? {} : { key });
      expect(response.status).toBe(401);
    }
    expect((await ctx.app.deps.tasks.get(queued))!.status).toBe('queued');
    expect((await operator('POST', `/api/admin/tasks/${queued}/cancel`)).status).toBe(200);
  });
});
