import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runUntilDone, testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Outbound callbacks (API.md §9, SEMANTICS §7 H1–H10, checklist C46–C49): real loopback receivers, the manual
 * clock and single worker rounds; every delivery is checked with the `standardwebhooks` reference library.
 */
const ctx = useTestApp();

/** H10 delays between attempts (the contract, not the implementation's table). */
const SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
const JITTER = 0.1;
const DAY_MS = 24 * 3600_000;
const PRICE_5S_720P = 5 * 1200;

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The manual clock when the request arrived. */
  at: number;
}

interface Receiver {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

type Answer = { status: number; headers?: Record<string, string> };

const servers: Server[] = [];

/** A loopback HTTP receiver; `answer(n)` decides the reply to the n-th request (0-based). */
async function receiver(answer: (index: number) => Answer = () => ({ status: 200 })): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = requests.length;
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: ctx.app.clock.now().getTime(),
      });
      const reply = answer(index);
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      response.end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  // Deliveries a test leaves pending would otherwise be retried (against closed ports) by later tests' rounds.
  await ctx.app.database.db.query(`UPDATE webhook_deliveries SET status = 'cancelled' WHERE status = 'pending'`);
});

/** The headers a receiver hands to the library (single-valued strings). */
function webhookHeaders(received: Received): Record<string, string> {
  const pick = (name: string) => {
    const value = received.headers[name];
    return Array.isArray(value) ? value.join(',') : (value ?? '');
  };
  return { 'webhook-id': pick('webhook-id'), 'webhook-timestamp': pick('webhook-timestamp'), 'webhook-signature': pick('webhook-signature') };
}

/**
 * Verifies with the reference library as a receiver would at the moment the request arrived (manual clock):
 * the library checks the timestamp against Date.now() with a 5-minute tolerance.
 */
function verifyAt(secret: string, received: Received): unknown {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(received.at);
  try {
    return new Webhook(secret).verify(received.body, webhookHeaders(received));
  } finally {
    vi.useRealTimers();
  }
}

function verifies(secret: string, received: Received): boolean {
  try {
    verifyAt(secret, received);
    return true;
  } catch {
    return false;
  }
}

async function secretOf(key: string): Promise<string> {
  const response = await ctx.app.request('GET', '/api/v1/webhook-secret', { key });
  expect(response.status, response.text).toBe(200);
  return response.body.secret as string;
}

async function createVideo(key: string, callbackUrl: string, prompt = 'a heron at dawn') {
  const created = await ctx.app.request('POST', '/v1/videos', {
    key,
    body: { model: 'seedance-2.0-fast', prompt, seconds: 5, resolution: '720p', callback_url: callbackUrl },
  });
  expect(created.status, created.text).toBe(202);
  return created.body.id as string;
}

async function delivery(taskId: string) {
  const rows = await ctx.app.deps.webhooks.deliveriesOf(taskId);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function attemptsOf(deliveryId: string) {
  const result = await ctx.app.database.db.query<{ attempt: number; response_status: number | null; attempted_at: Date }>(
    'SELECT attempt, response_status, attempted_at FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id',
    [deliveryId],
  );
  return result.rows.map((row) => ({ attempt: row.attempt, status: row.response_status, at: new Date(row.attempted_at).getTime() }));
}

/** Moves the clock to `ms` after `from` (never backwards). */
function advanceTo(target: number): void {
  const now = ctx.app.clock.now().getTime();
  expect(target).toBeGreaterThanOrEqual(now);
  ctx.app.clock.advance(target - now);
}

/** Checks the pending delivery's next attempt is `delayMs` (±10 %) after the last attempt, that nothing is sent
 * before the earliest jittered time, and that the attempt goes out once the latest jittered time has passed. */
async function expectNextAttemptAfter(taskId: string, hook: Receiver, delayMs: number): Promise<void> {
  const before = await delivery(taskId);
  expect(before.status).toBe('pending');
  const last = hook.requests.at(-1)!.at;
  const next = new Date(before.next_attempt_at!).getTime();
  expect(next).toBeGreaterThanOrEqual(last + Math.floor(delayMs * (1 - JITTER)));
  expect(next).toBeLessThanOrEqual(last + Math.ceil(delayMs * (1 + JITTER)));
  const count = hook.requests.length;
  advanceTo(last + Math.floor(delayMs * (1 - JITTER)) - 1);
  await ctx.app.worker.deliverOnce();
  expect(hook.requests).toHaveLength(count);
  advanceTo(last + Math.ceil(delayMs * (1 + JITTER)) + 1);
  await ctx.app.worker.deliverOnce();
  expect(hook.requests).toHaveLength(count + 1);
}

describe('callback delivery (H1–H5, C46)', () => {
  it('a succeeded /v1/videos task POSTs the OpenAI video once, signed so the reference library verifies it', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const hook = await receiver();
    const taskId = await createVideo(owner.key, `${hook.url}/hook?src=genrelay`);
    expect(hook.requests).toHaveLength(0);

    const task = await runUntilDone(ctx.app, taskId);
    expect(task.status).toBe('succeeded');
    await ctx.app.worker.deliverOnce();
    ctx.app.clock.advance(DAY_MS);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);

    const [received] = hook.requests as [Received];
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/hook?src=genrelay');
    expect(received.headers['content-type']).toMatch(/^application\/json/);
    expect(received.headers['webhook-id']).toMatch(/^msg_[0-9A-Za-z]{26}$/);
    expect(received.headers['webhook-timestamp']).toBe(String(Math.floor(received.at / 1000)));
    expect(received.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    const body = JSON.parse(received.body);
    expect(body).toMatchObject({
      id: taskId, task_id: taskId, object: 'video', status: 'completed', model: 'seedance-2.0-fast', seconds: '5',
      progress: 100, error: null, mode: 'test', credits: { reserved: PRICE_5S_720P, charged: PRICE_5S_720P },
    });
    expect(body.credits.charged).toBeGreaterThan(0);
    expect(body.result.url).toMatch(new RegExp(`^${ctx.app.baseUrl}/v1/files/file_`));
    expect(received.body).not.toMatch(/sbx_|sandbox/i);
    // Same content as the video as the customer reads it (URLs are signed per read, so compared without them).
    const read = await ctx.app.request('GET', `/v1/videos/${taskId}`, { key: owner.key });
    expect({ ...body, result: null, expires_at: null }).toEqual({ ...read.body, result: null, expires_at: null });

    expect(verifyAt(secret, received)).toEqual(body);
    // Another customer's secret, the same customer's live-mode secret and a tampered body all fail.
    const stranger = await testCustomer(ctx.app, 0);
    expect(verifies(await secretOf(stranger.key), received)).toBe(false);
    const liveKey = await ctx.app.createKey(owner.customerId, { mode: 'live' });
    expect(verifies(await secretOf(liveKey.key), received)).toBe(false);
    expect(verifies(secret, { ...received, body: received.body.replace('"completed"', '"failed"') })).toBe(false);

    const row = await delivery(taskId);
    expect(row).toMatchObject({
      status: 'delivered', attempts: 1, last_status: 200, message_id: received.headers['webhook-id'], body: received.body,
      endpoint_id: null, event_type: 'task.succeeded', mode: 'test', customer_id: owner.customerId,
    });
    expect(row.completed_at).not.toBeNull();
    expect((await attemptsOf(row.id)).map((attempt) => attempt.status)).toEqual([200]);
  });

  it('a /v1/music/generations task gets the native task shape', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const hook = await receiver();
    const created = await ctx.app.request('POST', '/v1/music/generations', {
      key: owner.key,
      body: { prompt: 'lofi rain on a tin roof', callback_url: `${hook.url}/music` },
    });
    expect(created.status, created.text).toBe(202);
    const task = await runUntilDone(ctx.app, created.body.id, 2_000, 60);
    expect(task.status).toBe('succeeded');
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    const [received] = hook.requests as [Received];
    const body = verifyAt(secret, received) as any;
    expect(body).toMatchObject({ id: created.body.id, object: 'task', type: 'music', status: 'succeeded', error: null, mode: 'test' });
    expect(body.credits.charged).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('task_id');
    expect(received.body).not.toMatch(/sbx_|sandbox/i);
    expect(await delivery(created.body.id)).toMatchObject({ status: 'delivered', event_type: 'task.succeeded' });
  });

  it('a task failed by output moderation delivers status failed, charged 0 and the public error code', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const hook = await receiver();
    const taskId = await createVideo(owner.key, `${hook.url}/hook`, 'a forbidden scene [[scenario:moderation_output]]');
    const task = await runUntilDone(ctx.app, taskId, 20_000, 60);
    expect(task.status).toBe('failed');
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    const [received] = hook.requests as [Received];
    const body = verifyAt(secret, received) as any;
    expect(body).toMatchObject({
      id: taskId, object: 'video', status: 'failed', result: null,
      credits: { charged: 0 }, error: { code: 'content_policy_violation', message: expect.any(String) },
    });
    expect(received.body).not.toMatch(/sbx_|sandbox/i);
    expect(await delivery(taskId)).toMatchObject({ status: 'delivered', event_type: 'task.failed' });
  });
});

describe('every terminal state and face (API.md §9, H7)', () => {
  it('a task cancelled while queued, and an expired task, each POST their final state', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const hook = await receiver();
    const cancelled = await createVideo(owner.key, `${hook.url}/cancelled`);
    const cancel = await ctx.app.request('POST', `/v1/tasks/${cancelled}/cancel`, { key: owner.key });
    expect(cancel.status, cancel.text).toBe(200);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests.map((request) => request.path)).toEqual(['/cancelled']);
    expect(verifyAt(secret, hook.requests[0]!)).toMatchObject({
      id: cancelled, object: 'video', status: 'failed', credits: { charged: 0 }, error: { code: 'cancelled' },
    });
    expect(await delivery(cancelled)).toMatchObject({ status: 'delivered', event_type: 'task.cancelled' });

    const expired = await createVideo(owner.key, `${hook.url}/expired`, 'too slow [[scenario:expire]]');
    expect((await runUntilDone(ctx.app, expired, 20_000, 60)).status).toBe('expired');
    await ctx.app.worker.deliverOnce();
    expect(hook.requests.map((request) => request.path)).toEqual(['/cancelled', '/expired']);
    expect(verifyAt(secret, hook.requests[1]!)).toMatchObject({ id: expired, status: 'failed', credits: { charged: 0 }, error: { code: 'expired' } });
    expect(await delivery(expired)).toMatchObject({ status: 'delivered', event_type: 'task.expired' });
    expect(hook.requests[0]!.headers['webhook-id']).not.toBe(hook.requests[1]!.headers['webhook-id']);
  });

  it('a new-api task (callback_url under metadata) gets the new-api shape', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const hook = await receiver();
    const created = await ctx.app.request('POST', '/v1/video/generations', {
      key: owner.key,
      body: { model: 'seedance-2.0-fast', prompt: 'a kite', seconds: 5, metadata: { resolution: '720p', callback_url: `${hook.url}/newapi` } },
    });
    expect(created.status, created.text).toBe(200);
    expect((await runUntilDone(ctx.app, created.body.task_id)).status).toBe('succeeded');
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    const body = verifyAt(secret, hook.requests[0]!) as any;
    expect(body).toMatchObject({ task_id: created.body.task_id, status: 'succeeded', format: 'mp4', progress: 100 });
    expect(body.url).toMatch(new RegExp(`^${ctx.app.baseUrl}/v1/files/file_`));
    expect(body).not.toHaveProperty('object');
    expect(hook.requests[0]!.body).not.toMatch(/sbx_|sandbox/i);
  });

  it('no callback_url, no delivery; a private-address callback_url is refused at creation', async () => {
    const owner = await testCustomer(ctx.app);
    const plain = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'quiet', seconds: 5 } });
    expect(plain.status).toBe(202);
    expect((await runUntilDone(ctx.app, plain.body.id)).status).toBe('succeeded');
    expect(await ctx.app.deps.webhooks.deliveriesOf(plain.body.id)).toEqual([]);
    for (const url of ['http://10.0.0.1/hook', 'http://169.254.169.254/latest', 'http://[::1]:8080/hook', 'file:///etc/passwd']) {
      const refused = await ctx.app.request('POST', '/v1/videos', {
        key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'x', seconds: 5, callback_url: url },
      });
      expect(refused.status, `${url}: ${refused.text}`).toBe(400);
      expect(refused.body.error.param).toBe('callback_url');
    }
  });
});

describe('retries (H8, H10, C47)', () => {
  it('500, 500, 200: attempts at 0, +5 s, +5 min with the same id and bytes, fresh timestamps, then delivered', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const statuses = [500, 500, 200];
    const hook = await receiver((index) => ({ status: statuses[index] ?? 200 }));
    const taskId = await createVideo(owner.key, `${hook.url}/retry`);
    await runUntilDone(ctx.app, taskId);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    expect(await delivery(taskId)).toMatchObject({ status: 'pending', attempts: 1, last_status: 500 });

    await expectNextAttemptAfter(taskId, hook, 5_000);
    expect(await delivery(taskId)).toMatchObject({ status: 'pending', attempts: 2, last_status: 500 });
    await expectNextAttemptAfter(taskId, hook, 300_000);

    const [first, second, third] = hook.requests as [Received, Received, Received];
    const ids = hook.requests.map((request) => request.headers['webhook-id']);
    expect(ids[0]).toMatch(/^msg_[0-9A-Za-z]{26}$/);
    expect(new Set(ids).size).toBe(1);
    expect(second.body).toBe(first.body);
    expect(third.body).toBe(first.body);
    const stamps = hook.requests.map((request) => Number(request.headers['webhook-timestamp']));
    expect(stamps).toEqual(hook.requests.map((request) => Math.floor(request.at / 1000)));
    expect(new Set(stamps).size).toBe(3);
    expect(new Set(hook.requests.map((request) => request.headers['webhook-signature'])).size).toBe(3);
    for (const request of hook.requests) expect(verifies(secret, request)).toBe(true);

    const row = await delivery(taskId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 3, last_status: 200, next_attempt_at: null, message_id: ids[0], body: first.body });
    const attempts = await attemptsOf(row.id);
    expect(attempts.map(({ attempt, status }) => [attempt, status])).toEqual([[1, 500], [2, 500], [3, 200]]);
    expect(attempts.map((attempt) => attempt.at)).toEqual(hook.requests.map((request) => request.at));

    ctx.app.clock.advance(2 * DAY_MS);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(3);
  });

  it('503 with Retry-After later than the schedule is honoured', async () => {
    const owner = await testCustomer(ctx.app);
    const hook = await receiver((index) => (index === 0 ? { status: 503, headers: { 'retry-after': '600' } } : { status: 204 }));
    const taskId = await createVideo(owner.key, `${hook.url}/busy`);
    await runUntilDone(ctx.app, taskId);
    expect(hook.requests).toHaveLength(1);
    const row = await delivery(taskId);
    expect(new Date(row.next_attempt_at!).getTime()).toBe(hook.requests[0]!.at + 600_000);
    ctx.app.clock.advance(599_000);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    ctx.app.clock.advance(1_000);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(2);
    expect(await delivery(taskId)).toMatchObject({ status: 'delivered', attempts: 2, last_status: 204 });
  });

  it('410 ends the callback delivery: cancelled, never attempted again', async () => {
    const owner = await testCustomer(ctx.app);
    const hook = await receiver(() => ({ status: 410 }));
    const taskId = await createVideo(owner.key, `${hook.url}/gone`);
    await runUntilDone(ctx.app, taskId);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    const row = await delivery(taskId);
    expect(row).toMatchObject({ status: 'cancelled', attempts: 1, last_status: 410, next_attempt_at: null });
    expect(row.completed_at).not.toBeNull();
    for (const delay of SCHEDULE_MS) {
      ctx.app.clock.advance(delay * 2);
      await ctx.app.worker.deliverOnce();
    }
    expect(hook.requests).toHaveLength(1);
    expect((await attemptsOf(row.id)).map((attempt) => attempt.status)).toEqual([410]);
  });

  it('302 is a failed attempt and its Location is never requested', async () => {
    const owner = await testCustomer(ctx.app);
    const target = await receiver();
    const hook = await receiver(() => ({ status: 302, headers: { location: `${target.url}/elsewhere` } }));
    const taskId = await createVideo(owner.key, `${hook.url}/moved`);
    await runUntilDone(ctx.app, taskId);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
    expect(await delivery(taskId)).toMatchObject({ status: 'pending', attempts: 1, last_status: 302 });

    await expectNextAttemptAfter(taskId, hook, 5_000);
    expect(target.requests).toHaveLength(0);
    const row = await delivery(taskId);
    expect(row).toMatchObject({ status: 'pending', attempts: 2, last_status: 302 });
    expect(new Date(row.next_attempt_at!).getTime()).toBeGreaterThan(ctx.app.clock.now().getTime());
    expect((await attemptsOf(row.id)).map((attempt) => attempt.status)).toEqual([302, 302]);
  });

  it('an unreachable receiver is a failed attempt (no status, error recorded) and is retried', async () => {
    const owner = await testCustomer(ctx.app);
    const hook = await receiver();
    await hook.close();
    const taskId = await createVideo(owner.key, `${hook.url}/closed`);
    await runUntilDone(ctx.app, taskId);
    const row = await delivery(taskId);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_status: null });
    expect(row.last_error).toEqual(expect.any(String));
    expect(row.message_id).toMatch(/^msg_[0-9A-Za-z]{26}$/);
    expect(row.body).toContain(taskId);
    const next = new Date(row.next_attempt_at!).getTime() - ctx.app.clock.now().getTime();
    expect(next).toBeGreaterThanOrEqual(4_500);
    expect(next).toBeLessThanOrEqual(5_500);
  });

  it('concurrent sender rounds send a due retry once', async () => {
    const owner = await testCustomer(ctx.app);
    const hook = await receiver((index) => ({ status: index === 0 ? 500 : 200 }));
    const taskId = await createVideo(owner.key, `${hook.url}/race`);
    await runUntilDone(ctx.app, taskId);
    expect(hook.requests).toHaveLength(1);
    ctx.app.clock.advance(6_000);
    await Promise.all([ctx.app.worker.deliverOnce(), ctx.app.worker.deliverOnce(), ctx.app.worker.deliverOnce()]);
    expect(hook.requests).toHaveLength(2);
    const row = await delivery(taskId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 2 });
    expect((await attemptsOf(row.id)).map(({ attempt, status }) => [attempt, status])).toEqual([[1, 500], [2, 200]]);
  });

  it('C49: a receiver that always fails gets 8 attempts on the H10 schedule, then the delivery is failed', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = await secretOf(owner.key);
    const hook = await receiver(() => ({ status: 500 }));
    const taskId = await createVideo(owner.key, `${hook.url}/down`);
    await runUntilDone(ctx.app, taskId);
    expect(hook.requests).toHaveLength(1);
    for (const delay of SCHEDULE_MS) await expectNextAttemptAfter(taskId, hook, delay);
    expect(hook.requests).toHaveLength(8);

    const row = await delivery(taskId);
    expect(row).toMatchObject({ status: 'failed', attempts: 8, last_status: 500, next_attempt_at: null });
    expect(row.completed_at).not.toBeNull();
    // The whole schedule spans at least 24 h (API.md §9).
    expect(hook.requests[7]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(DAY_MS);
    expect(new Set(hook.requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(new Set(hook.requests.map((request) => request.body)).size).toBe(1);
    for (const request of hook.requests) expect(verifies(secret, request)).toBe(true);
    expect((await attemptsOf(row.id)).map(({ attempt, status }) => [attempt, status])).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => [attempt, 500]),
    );

    ctx.app.clock.advance(30 * DAY_MS);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(8);
    expect(await delivery(taskId)).toMatchObject({ status: 'failed', attempts: 8 });
  });
});

describe('secret rotation (H4, C48)', () => {
  it('within 24 h a delivery carries two signatures and either secret verifies; after 24 h only the new one', async () => {
    const owner = await testCustomer(ctx.app);
    const oldSecret = await secretOf(owner.key);
    const rotatedAt = ctx.app.clock.now().getTime();
    const rotated = await ctx.app.request('POST', '/api/v1/webhook-secret/rotate', { key: owner.key });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(await secretOf(owner.key)).toBe(newSecret);
    const unrelated = await secretOf((await testCustomer(ctx.app, 0)).key);

    const hook = await receiver();
    const within = await createVideo(owner.key, `${hook.url}/within`);
    await runUntilDone(ctx.app, within);
    expect(hook.requests).toHaveLength(1);
    const early = hook.requests[0]!;
    expect(early.at).toBeLessThan(rotatedAt + DAY_MS);
    const signatures = String(early.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    for (const signature of signatures) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifies(oldSecret, early)).toBe(true);
    expect(verifies(newSecret, early)).toBe(true);
    expect(verifies(unrelated, early)).toBe(false);
    // Each signature alone verifies with exactly one of the two secrets.
    const alone = (signature: string): Received => ({ ...early, headers: { ...early.headers, 'webhook-signature': signature } });
    expect(signatures.map((signature) => [verifies(oldSecret, alone(signature)), verifies(newSecret, alone(signature))]).sort()).toEqual(
      [[false, true], [true, false]],
    );

    ctx.app.clock.advance(DAY_MS + 1_000);
    const after = await createVideo(owner.key, `${hook.url}/after`);
    await runUntilDone(ctx.app, after);
    expect(hook.requests).toHaveLength(2);
    const late = hook.requests[1]!;
    expect(late.at).toBeGreaterThan(rotatedAt + DAY_MS);
    expect(late.path).toBe('/after');
    expect(String(late.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newSecret, late)).toBe(true);
    expect(verifies(oldSecret, late)).toBe(false);
  });

  it('a retry that falls after the 24 h grace is signed with the new secret only', async () => {
    const owner = await testCustomer(ctx.app);
    const oldSecret = await secretOf(owner.key);
    const statuses = [500, 500, 500, 500, 500, 200];
    const hook = await receiver((index) => ({ status: statuses[index] ?? 200 }));
    const taskId = await createVideo(owner.key, `${hook.url}/slow`);
    const rotated = await ctx.app.request('POST', '/api/v1/webhook-secret/rotate', { key: owner.key });
    const newSecret = rotated.body.secret as string;
    await runUntilDone(ctx.app, taskId);
    // Attempts 2–5 happen within the grace (≈ 2.6 h after the first) and carry both signatures.
    for (const delay of SCHEDULE_MS.slice(0, 4)) await expectNextAttemptAfter(taskId, hook, delay);
    expect(String(hook.requests[4]!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    // Jump past the grace, then let the next attempt go.
    ctx.app.clock.advance(DAY_MS);
    await ctx.app.worker.deliverOnce();
    expect(hook.requests).toHaveLength(6);
    const last = hook.requests[5]!;
    expect(String(last.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newSecret, last)).toBe(true);
    expect(verifies(oldSecret, last)).toBe(false);
    expect(last.body).toBe(hook.requests[0]!.body);
    expect(await delivery(taskId)).toMatchObject({ status: 'delivered', attempts: 6 });
  });
});

describe('GET /api/v1/webhook-secret and rotate (API.md §9, H3)', () => {
  const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

  it('missing or unknown keys get 401 with the key-face detail body', async () => {
    for (const [method, path] of [['GET', '/api/v1/webhook-secret'], ['POST', '/api/v1/webhook-secret/rotate']] as const) {
      const missing = await ctx.app.request(method, path);
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ detail: 'Invalid or missing API key' });
      const bad = await ctx.app.request(method, path, { key: 'ak_test_nonsense' });
      expect(bad.status).toBe(401);
      expect(bad.body).toEqual({ detail: 'Invalid or missing API key' });
      const header = await ctx.app.request(method, path, { headers: { 'x-api-key': 'ak_live_nonsense' } });
      expect(header.status).toBe(401);
      expect(header.body).toEqual({ detail: 'Invalid or missing API key' });
    }
  });

  it('needs the keys scope (K10)', async () => {
    const owner = await testCustomer(ctx.app, 0, { scopes: ['videos'] });
    for (const [method, path] of [['GET', '/api/v1/webhook-secret'], ['POST', '/api/v1/webhook-secret/rotate']] as const) {
      const denied = await ctx.app.request(method, path, { key: owner.key });
      expect(denied.status).toBe(403);
      expect(denied.body).toEqual({ detail: expect.any(String) });
      expect(denied.text).not.toMatch(/whsec_/);
    }
  });

  it('one stable secret per customer and mode; rotation replaces it for that mode only', async () => {
    const owner = await testCustomer(ctx.app, 0);
    const testSecret = await secretOf(owner.key);
    expect(testSecret).toMatch(SECRET);
    expect(Buffer.from(testSecret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(await secretOf(owner.key)).toBe(testSecret);
    const response = await ctx.app.request('GET', '/api/v1/webhook-secret', { key: owner.key });
    expect(response.body).toEqual({ secret: testSecret });

    const secondTestKey = await ctx.app.createKey(owner.customerId, { mode: 'test' });
    expect(await secretOf(secondTestKey.key)).toBe(testSecret);
    const liveKey = await ctx.app.createKey(owner.customerId, { mode: 'live' });
    const liveSecret = await secretOf(liveKey.key);
    expect(liveSecret).toMatch(SECRET);
    expect(liveSecret).not.toBe(testSecret);
    const other = await testCustomer(ctx.app, 0);
    const otherSecret = await secretOf(other.key);
    expect(otherSecret).toMatch(SECRET);
    expect([testSecret, liveSecret]).not.toContain(otherSecret);

    const rotated = await ctx.app.request('POST', '/api/v1/webhook-secret/rotate', { key: owner.key });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ secret: expect.stringMatching(SECRET), previous_valid_for_seconds: 86_400 });
    expect(rotated.body.secret).not.toBe(testSecret);
    expect(await secretOf(owner.key)).toBe(rotated.body.secret);
    expect(await secretOf(secondTestKey.key)).toBe(rotated.body.secret);
    expect(await secretOf(liveKey.key)).toBe(liveSecret);
    expect(await secretOf(other.key)).toBe(otherSecret);
  });
});
