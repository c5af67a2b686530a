import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LEASE_MS, PER_CUSTOMER_IN_FLIGHT, PER_TARGET_IN_FLIGHT } from '../../src/modules/webhooks/fairness.js';
import { WebhookService } from '../../src/modules/webhooks/service.js';
import { startTestApp, type TestApp } from '../harness/app.js';
import { testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Fair webhook delivery (issue 8): one customer's hanging or failing receivers do not delay another customer's
 * deliveries; in-flight caps per target and per customer; a failing target is blocked and probed one delivery at a
 * time while every delivery keeps its H10 schedule; a delivery in flight when its process died is re-sent within
 * the lease by the next process, with the same webhook-id. Real loopback receivers; the manual clock.
 */
const ctx = useTestApp({ env: { WORKER_INTERVAL_MS: '50' } });

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'expired'];

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A reply, or 'hang': accept the request and never answer. */
type Answer = number | 'hang';

interface Receiver {
  url: string;
  requests: Received[];
  /** Requests being held open right now, and the most ever held at once. */
  open: number;
  peak: number;
  answer: (index: number) => Answer;
  /** Cuts every connection (hung requests fail at once) and stops listening. */
  close(): Promise<void>;
}

const receivers: Receiver[] = [];

async function receiver(answer: (index: number) => Answer = () => 200): Promise<Receiver> {
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = state.requests.length;
      state.requests.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = state.answer(index);
      if (reply === 'hang') {
        held.add(response);
        state.open = held.size;
        state.peak = Math.max(state.peak, held.size);
        response.on('close', () => {
          held.delete(response);
          state.open = held.size;
        });
        return;
      }
      response.writeHead(reply, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: Receiver = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    open: 0,
    peak: 0,
    answer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
  receivers.push(state);
  return state;
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((entry) => entry.close()));
  await ctx.app.database.db.query(`UPDATE webhook_deliveries SET status = 'cancelled' WHERE status = 'pending'`);
});

async function createVideo(app: TestApp, key: string, callbackUrl: string): Promise<string> {
  const created = await app.request('POST', '/v1/videos', {
    key,
    body: { model: 'seedance-2.0-fast', prompt: 'a heron at dawn', seconds: 5, resolution: '720p', callback_url: callbackUrl },
  });
  expect(created.status, created.text).toBe(202);
  return created.body.id as string;
}

async function createMusic(key: string): Promise<string> {
  const created = await ctx.app.request('POST', '/v1/music/generations', { key, body: { prompt: 'a calm piano piece' } });
  expect(created.status, created.text).toBe(202);
  return created.body.id as string;
}

/** Runs tasks to a terminal state with dispatch and poll rounds only: their deliveries stay due, unsent. */
async function finishWithoutDelivering(taskIds: string[]): Promise<void> {
  for (let step = 0; step < 100; step += 1) {
    await ctx.app.worker.dispatchOnce();
    await ctx.app.worker.pollOnce();
    const tasks = await Promise.all(taskIds.map((id) => ctx.app.deps.tasks.get(id)));
    if (tasks.every((task) => task && TERMINAL.includes(task.status))) return;
    ctx.app.clock.advance(600);
  }
  throw new Error('tasks did not finish');
}

/** Polls (real time) until `condition` holds; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function deliveryOf(taskId: string, endpointId: string | null = null) {
  const rows = (await ctx.app.deps.webhooks.deliveriesOf(taskId)).filter((row) => row.endpoint_id === endpointId);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function attemptsOf(deliveryId: string) {
  const result = await ctx.app.database.db.query<{ attempt: number; response_status: number | null }>(
    'SELECT attempt, response_status FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id',
    [deliveryId],
  );
  return result.rows.map((row) => [row.attempt, row.response_status]);
}

/** Live leases, per target and per customer. */
async function inFlight(now: Date) {
  const result = await ctx.app.database.db.query<{ target_key: string; customer_id: string }>(
    `SELECT target_key, customer_id FROM webhook_deliveries WHERE status = 'pending' AND lease_until > $1`,
    [now],
  );
  const count = (keys: string[]) => keys.reduce((map, key) => map.set(key, (map.get(key) ?? 0) + 1), new Map<string, number>());
  return { targets: count(result.rows.map((row) => row.target_key)), customers: count(result.rows.map((row) => row.customer_id)) };
}

function verifiesAt(secret: string, received: Received): boolean {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Number(received.headers['webhook-timestamp']) * 1000);
  try {
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(received.headers[name])]));
    new Webhook(secret).verify(received.body, headers);
    return true;
  } catch {
    return false;
  } finally {
    vi.useRealTimers();
  }
}

describe('fair delivery (issue 8)', () => {
  it("one customer's 30 hanging or failing receivers do not delay another customer's callback", async () => {
    const a = await testCustomer(ctx.app);
    const b = await testCustomer(ctx.app);
    // A: a registered endpoint that hangs (it gets a delivery for every task of A), and 30 callback receivers of
    // which 24 hang and 6 answer 500.
    const endpoint = await receiver(() => 'hang');
    const registered = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: a.key, body: { url: `${endpoint.url}/events` } });
    expect(registered.status, registered.text).toBe(201);
    const callbacks = await Promise.all(Array.from({ length: 30 }, (_, index) => receiver(() => (index < 24 ? 'hang' : 500))));
    const aTasks: string[] = [];
    for (const [index, callback] of callbacks.entries()) aTasks.push(await createVideo(ctx.app, a.key, `${callback.url}/cb/${index}`));
    await finishWithoutDelivering(aTasks);

    // B's one delivery falls due after all 60 of A's (the old sender took the 20 oldest and waited for them all).
    ctx.app.clock.advance(1_000);
    const healthy = await receiver(() => 200);
    const bTask = await createVideo(ctx.app, b.key, `${healthy.url}/b`);
    await finishWithoutDelivering([bTask]);
    const due = await ctx.app.database.db.query<{ customer_id: string; n: number }>(
      `SELECT customer_id, count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending' AND attempts = 0 GROUP BY customer_id`,
    );
    expect(Object.fromEntries(due.rows.map((row) => [row.customer_id, row.n]))).toEqual({ [a.customerId]: 60, [b.customerId]: 1 });

    const started = Date.now();
    ctx.app.worker.start();
    try {
      await waitFor(() => healthy.requests.length === 1, 5_000, "B's callback");
      expect(Date.now() - started).toBeLessThan(3_000);
      await waitFor(async () => (await deliveryOf(bTask)).status === 'delivered', 10_000, "B's delivery to be recorded");
      // A's receivers are hanging meanwhile, within the caps: per target, and per customer across all of them.
      await waitFor(() => callbacks.reduce((sum, callback) => sum + callback.open, endpoint.open) > 0, 10_000, "A's hung requests");
      const flying = await inFlight(ctx.app.clock.now());
      expect(flying.customers.get(a.customerId)).toBeGreaterThan(0);
      expect(flying.customers.get(a.customerId)).toBeLessThanOrEqual(PER_CUSTOMER_IN_FLIGHT);
      for (const count of flying.targets.values()) expect(count).toBeLessThanOrEqual(PER_TARGET_IN_FLIGHT);
      expect(endpoint.peak).toBeLessThanOrEqual(PER_TARGET_IN_FLIGHT);
      const hungForA = callbacks.reduce((sum, callback) => sum + callback.open, endpoint.open);
      expect(hungForA).toBeLessThanOrEqual(PER_CUSTOMER_IN_FLIGHT);
      const aDelivered = await ctx.app.database.db.query(`SELECT 1 FROM webhook_deliveries WHERE customer_id = $1 AND status = 'delivered'`, [a.customerId]);
      expect(aDelivered.rows).toHaveLength(0);
    } finally {
      const stopping = ctx.app.worker.stop();
      // Cutting the hung connections lets their attempts fail now rather than at the 10 s answer timeout.
      await Promise.all([endpoint, ...callbacks].map((entry) => entry.close()));
      await stopping;
    }
    expect(ctx.app.worker.webhooks.inFlight).toBe(0);
  }, 30_000);

  it('the per-target cap holds across processes claiming at the same time', async () => {
    const owner = await testCustomer(ctx.app);
    const hook = await receiver(() => 'hang');
    const registered = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url: `${hook.url}/events` } });
    expect(registered.status, registered.text).toBe(201);
    const tasks: string[] = [];
    for (let index = 0; index < 10; index += 1) tasks.push(await createMusic(owner.key));
    await finishWithoutDelivering(tasks);
    const other = await startTestApp({ database: ctx.app.database });
    try {
      other.clock.set(ctx.app.clock.now());
      const claimed = await Promise.all([ctx.app.worker.webhooks.pump(), other.worker.webhooks.pump(), ctx.app.worker.webhooks.pump(), other.worker.webhooks.pump()]);
      expect(claimed.reduce((sum, count) => sum + count, 0)).toBe(PER_TARGET_IN_FLIGHT);
      await waitFor(() => hook.requests.length === PER_TARGET_IN_FLIGHT, 5_000, 'the capped attempts');
      expect((await inFlight(ctx.app.clock.now())).targets.get(`we:${registered.body.id}`)).toBe(PER_TARGET_IN_FLIGHT);
      expect(await other.worker.webhooks.pump()).toBe(0);
      expect(hook.peak).toBe(PER_TARGET_IN_FLIGHT);
    } finally {
      await hook.close();
      await Promise.all([ctx.app.worker.webhooks.idle(), other.worker.webhooks.idle()]);
      await other.close();
    }
  });

  it('a failing target is blocked and then probed one delivery at a time; each delivery keeps its H10 schedule', async () => {
    const owner = await testCustomer(ctx.app);
    let healthy = false;
    const hook = await receiver(() => (healthy ? 200 : 500));
    const registered = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url: `${hook.url}/events` } });
    expect(registered.status, registered.text).toBe(201);
    const endpointId = registered.body.id as string;
    const tasks: string[] = [];
    for (let index = 0; index < 10; index += 1) tasks.push(await createMusic(owner.key));
    await finishWithoutDelivering(tasks);
    const t0 = ctx.app.clock.now().getTime();

    // At most PER_TARGET_IN_FLIGHT at once; all four fail: the target is failing and blocked.
    expect(await ctx.app.worker.deliverOnce()).toBe(PER_TARGET_IN_FLIGHT);
    expect(hook.requests).toHaveLength(4);
    const target = `we:${endpointId}`;
    const blocked = await ctx.app.deps.webhooks.target(target);
    expect(blocked?.consecutive_failures).toBe(4);
    const blockedUntil = new Date(blocked!.blocked_until!).getTime();
    expect(blockedUntil).toBe(t0 + 10_000);
    // The four failed deliveries are rescheduled on H10 (+5 s ± 10 %), untouched by the block.
    const rows = await Promise.all(tasks.map((task) => deliveryOf(task, endpointId)));
    const tried = rows.filter((row) => row.attempts === 1);
    expect(tried).toHaveLength(4);
    for (const row of tried) {
      const delay = new Date(row.next_attempt_at!).getTime() - t0;
      expect(delay).toBeGreaterThanOrEqual(4_500);
      expect(delay).toBeLessThanOrEqual(5_500);
    }

    // Six fresh deliveries are due now and the four retries at +5 s, but nothing goes out while it is blocked.
    expect(await ctx.app.worker.deliverOnce()).toBe(0);
    ctx.app.clock.set(blockedUntil - 1);
    expect(await ctx.app.worker.deliverOnce()).toBe(0);
    expect(hook.requests).toHaveLength(4);

    // After the block: one probe at a time (the oldest due: a first attempt). It fails: a longer block (20 s).
    ctx.app.clock.set(blockedUntil);
    expect(await ctx.app.worker.deliverOnce()).toBe(1);
    expect(await ctx.app.worker.deliverOnce()).toBe(0);
    expect(hook.requests).toHaveLength(5);
    const again = await ctx.app.deps.webhooks.target(target);
    expect(again?.consecutive_failures).toBe(5);
    expect(new Date(again!.blocked_until!).getTime()).toBe(blockedUntil + 20_000);

    // The receiver recovers; the next probe succeeds, the target is cleared, and the rest flow, four at a time.
    healthy = true;
    ctx.app.clock.set(blockedUntil + 20_000);
    expect(await ctx.app.worker.deliverOnce()).toBe(1);
    expect(await ctx.app.deps.webhooks.target(target)).toBeNull();
    const rounds: number[] = [];
    for (let round = 0; round < 5; round += 1) rounds.push(await ctx.app.worker.deliverOnce());
    expect(rounds).toEqual([4, 4, 1, 0, 0]);

    const final = await Promise.all(tasks.map((task) => deliveryOf(task, endpointId)));
    expect(final.every((row) => row.status === 'delivered')).toBe(true);
    // Ten deliveries, five failed attempts: every delivery has one attempt per request it caused, in order,
    // and the retried ones kept their webhook-id.
    expect(hook.requests).toHaveLength(15);
    for (const row of final) {
      const attempts = await attemptsOf(row.id);
      expect(attempts.at(-1)).toEqual([attempts.length, 200]);
      const ids = hook.requests.filter((request) => request.headers['webhook-id'] === row.message_id);
      expect(ids).toHaveLength(attempts.length);
    }
    expect(final.reduce((sum, row) => sum + row.attempts, 0)).toBe(15);
  });

  it('a delivery in flight when its process dies is re-sent by the next process once the lease lapses, with the same webhook-id', async () => {
    const owner = await testCustomer(ctx.app);
    const secret = (await ctx.app.request('GET', '/api/v1/webhook-secret', { key: owner.key })).body.secret as string;
    const hook = await receiver((index) => (index === 0 ? 'hang' : 200));
    const taskId = await createVideo(ctx.app, owner.key, `${hook.url}/crash`);
    await finishWithoutDelivering([taskId]);

    // The first process sends the attempt; the receiver holds it and the process dies before the answer.
    const dying = ctx.app.worker.deliverOnce();
    await waitFor(() => hook.requests.length === 1, 5_000, 'the first attempt');
    const claimed = await deliveryOf(taskId);
    expect(claimed).toMatchObject({ status: 'pending', attempts: 0, lease_owner: ctx.app.worker.owner });
    expect(new Date(claimed.lease_until!).getTime()).toBe(ctx.app.clock.now().getTime() + LEASE_MS);
    expect(claimed.message_id).toBe(hook.requests[0]!.headers['webhook-id']);

    // The next process starts seconds later (its own clock; the dead one renews nothing).
    const next = await startTestApp({ database: ctx.app.database });
    try {
      const diedAt = ctx.app.clock.now().getTime();
      next.clock.set(diedAt + LEASE_MS - 1_000);
      expect(await next.worker.deliverOnce()).toBe(0);
      expect(hook.requests).toHaveLength(1);
      next.clock.set(diedAt + LEASE_MS + 1_000);
      expect(await next.worker.deliverOnce()).toBe(1);
      expect(hook.requests).toHaveLength(2);
      const [first, second] = hook.requests as [Received, Received];
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
      expect(second.body).toBe(first.body);
      expect(Number(second.headers['webhook-timestamp'])).toBe(Math.floor((diedAt + LEASE_MS + 1_000) / 1000));
      expect(verifiesAt(secret, first)).toBe(true);
      expect(verifiesAt(secret, second)).toBe(true);
      const row = await deliveryOf(taskId);
      expect(row).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200, lease_owner: null, lease_until: null });
      expect(await attemptsOf(row.id)).toEqual([[1, 200]]);

      // Should the first process come back and see its attempt fail, it holds no claim any more: nothing changes.
      await hook.close();
      await dying;
      expect(await deliveryOf(taskId)).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200 });
      expect(await attemptsOf(row.id)).toEqual([[1, 200]]);
    } finally {
      await next.close();
    }
  });

  it('a live sender renews its lease while the POST runs, so nobody else re-sends it', async () => {
    const owner = await testCustomer(ctx.app);
    const hook = await receiver(() => 'hang');
    const taskId = await createVideo(ctx.app, owner.key, `${hook.url}/slow`);
    await finishWithoutDelivering([taskId]);
    const sending = ctx.app.worker.deliverOnce();
    await waitFor(() => hook.requests.length === 1, 5_000, 'the attempt');
    const claimedAt = ctx.app.clock.now().getTime();

    ctx.app.clock.advance(LEASE_MS - 1_000);
    expect(await ctx.app.worker.webhooks.renewLeases()).toBe(1);
    expect(new Date((await deliveryOf(taskId)).lease_until!).getTime()).toBe(claimedAt + 2 * LEASE_MS - 1_000);
    ctx.app.clock.advance(2_000);
    const other = await ctx.app.deps.webhooks.claimDue({
      owner: 'wrk_other', token: 'wrk_other:1', leaseMs: LEASE_MS, limit: 10, perTarget: 4, perCustomer: 16, excludeIds: [],
    });
    expect(other).toHaveLength(0);

    // The attempt ends (the receiver drops it) and is recorded by its holder as a failed attempt, lease released.
    await hook.close();
    await sending;
    const row = await deliveryOf(taskId);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_status: null, lease_owner: null, lease_token: null, lease_until: null });
    expect(row.last_error).toEqual(expect.any(String));
  });

  it('an outbox with nothing due is answered by one probe, without the claim lock; a due delivery is claimed', async () => {
    const db = ctx.app.deps.db;
    const counted = { queries: 0, transactions: 0 };
    const spy = {
      engine: db.engine,
      query: (text: string, values?: unknown[]) => { counted.queries += 1; return db.query(text, values); },
      transaction: <T>(work: (tx: typeof db) => Promise<T>) => { counted.transactions += 1; return db.transaction(work as never) as Promise<T>; },
    };
    const service = new WebhookService(spy as never, ctx.app.deps.secretBox, ctx.app.deps.clock);
    const claim = () => service.claimDue({ owner: 'wrk_probe', token: `wrk_probe:${Math.random()}`, leaseMs: LEASE_MS, limit: 10, perTarget: 4, perCustomer: 16, excludeIds: [] });
    // Whatever earlier tests left is delivered or pending in the future: nothing is due now.
    await db.query(`UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE status = 'pending'`, [new Date(ctx.app.clock.now().getTime() + 3_600_000)]);
    expect(await claim()).toEqual([]);
    expect(counted).toEqual({ queries: 1, transactions: 0 });

    const owner = await testCustomer(ctx.app);
    const hook = await receiver(() => 200);
    try {
      const taskId = await createVideo(ctx.app, owner.key, `${hook.url}/probe`);
      await finishWithoutDelivering([taskId]);
      const claimed = await claim();
      expect(claimed.map((row) => row.task_id)).toEqual([taskId]);
      expect(counted.transactions).toBe(1);
    } finally {
      await hook.close();
    }
  });
});
