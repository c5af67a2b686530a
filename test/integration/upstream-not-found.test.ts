import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NOT_FOUND_GRACE_MS } from '../../src/providers/shared/task-not-found.js';
import { taskErrorMessage } from '../../src/workflows/task-errors.js';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { runLiveUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Issue 8: an upstream that does not know a submitted task ends it the same way for every provider — after the
 * channel's not-found grace (counted from acceptance), `failed` with `provider_error`, charged 0, never resubmitted,
 * never left to the hard deadline. Within the grace a "not found" is no news: a task the upstream finds again
 * finishes normally.
 */
const logs: string[] = [];
const ctx = useTestApp({ logStream: { write: (line: string) => void logs.push(line) } });
let mocks: RunningMock;

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 20, runningMs: 40 });
});

afterAll(async () => {
  await mocks?.close();
});

interface Family {
  provider: string;
  basePath: string;
  model: string;
  upstream: string;
  path: string;
  body: Record<string, unknown>;
  price: number;
}

const FAMILIES: Family[] = [
  { provider: 'ark', basePath: '/ark/api/v3', model: 'seedance-2.0-fast', upstream: 'dreamina-seedance-2-0-fast-260128', path: '/v1/videos', body: { seconds: 5 }, price: 5 * 1200 },
  { provider: 'xai', basePath: '/xai/v1', model: 'grok-imagine-video', upstream: 'grok-imagine-video', path: '/v1/videos', body: { seconds: 6, resolution: '480p' }, price: 6 * 500 },
  { provider: 'openai', basePath: '/openai/v1', model: 'sora-2', upstream: 'sora-2', path: '/v1/videos', body: { seconds: 4, size: '1280x720' }, price: 4 * 700 },
  { provider: 'dashscope', basePath: '/dashscope/api/v1', model: 'happyhorse-1.0', upstream: 'happyhorse-1.0-t2v', path: '/v1/videos', body: { seconds: 5, resolution: '720p' }, price: 5 * 1400 },
  { provider: 'newapi', basePath: '/newapi/v1', model: 'seedance-2.0', upstream: 'doubao-seedance-2-0', path: '/v1/videos', body: { seconds: 5, resolution: '720p' }, price: 5 * 1800 },
  { provider: 'suno', basePath: '/suno/api/v1', model: 'suno-v5', upstream: 'V5', path: '/v1/music/generations', body: {}, price: 1500 },
];

const GRANT = 1_000_000;

async function setup(family: Family, settings: Record<string, unknown> = {}) {
  const group = `g-nf-${family.provider}-${Math.random().toString(36).slice(2, 8)}`;
  const channel = await ctx.app.request('POST', '/api/admin/channels', {
    operator: true,
    body: { name: `${family.provider} nf`, provider: family.provider, base_url: `${mocks.baseUrl}${family.basePath}`, models: { [family.model]: family.upstream }, group, settings },
  });
  expect(channel.status, channel.text).toBe(201);
  await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'mock-key' } });
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, GRANT, 'live');
  return { key: key.key as string, customerId: customer.id as string };
}

async function create(family: Family, key: string, prompt: string) {
  const response = await ctx.app.request('POST', family.path, { key, body: { model: family.model, prompt, ...family.body } });
  expect(response.status, response.text).toBe(202);
  return response.body.id as string;
}

function mockOf(family: Family) {
  return mocks.families.find((mounted) => mounted.prefix === `/${family.provider}`)!.context;
}

async function expectReleasedAsNotFound(family: Family, task: any, customerId: string) {
  expect(task).toMatchObject({ status: 'failed', error_code: 'provider_error', charged: 0n });
  expect(task.upstream_error).toMatchObject({ class: 'not_found', kind: 'task_not_found' });
  // Accepted once and never submitted again: a not-found is not a reason to create a second (billable) job.
  expect(mockOf(family).stats.creates[task.id]).toBe(1);
  const balance = await ctx.app.deps.wallet.balance(customerId, 'live');
  expect(Number(balance.balance)).toBe(GRANT);
  expect(Number(balance.reserved)).toBe(0);
  const charges = await ctx.app.deps.db.query("SELECT 1 FROM ledger_entries WHERE kind = 'charge' AND ref_id = (SELECT id FROM reservations WHERE task_id = $1)", [task.id]);
  expect(charges.rows).toHaveLength(0);
}

describe.each(FAMILIES)('$provider: the upstream does not know the task', (family) => {
  it('after the grace window: failed, provider_error, charged 0, submitted once', async () => {
    const { key, customerId } = await setup(family, { not_found_grace_seconds: 10 });
    const task = await runLiveUntilDone(ctx.app, await create(family, key, 'lost at sea [[scenario:not_found]]'));
    await expectReleasedAsNotFound(family, task, customerId);
    // Not before the grace: upstreams may not know a task for a moment after accepting it.
    expect(task.completed_at.getTime() - task.submitted_at.getTime()).toBeGreaterThanOrEqual(10_000);
    // The customer sees the documented code and message, nothing upstream-specific.
    const shown = await ctx.app.request('GET', `/v1/tasks/${task.id}`, { key });
    expect(shown.status, shown.text).toBe(200);
    expect(shown.body).toMatchObject({ status: 'failed', credits: { charged: 0 } });
    expect(shown.body.error).toEqual({ code: 'provider_error', message: taskErrorMessage('provider_error') });
  });

  it('within the grace window it is no news: a task found again finishes and is charged the price', async () => {
    const { key, customerId } = await setup(family);
    const task = await runLiveUntilDone(ctx.app, await create(family, key, 'found again [[scenario:not_found;reads=2]]'));
    // The upstream did answer "not found" first, and the engine waited instead of failing the task.
    expect(logs.some((line) => line.includes(task.id) && line.includes('within the not-found grace'))).toBe(true);
    expect(task.status).toBe('succeeded');
    expect(Number(task.charged)).toBe(family.price);
    expect(mockOf(family).stats.creates[task.id]).toBe(1);
    const balance = await ctx.app.deps.wallet.balance(customerId, 'live');
    expect(Number(balance.balance)).toBe(GRANT - family.price);
  });
});

describe('not-found grace and the sweeper', () => {
  const ark = FAMILIES[0]!;

  it('the default grace is 120 s from acceptance', async () => {
    const { key, customerId } = await setup(ark);
    const task = await runLiveUntilDone(ctx.app, await create(ark, key, 'gone [[scenario:not_found]]'));
    await expectReleasedAsNotFound(ark, task, customerId);
    const waited = task.completed_at.getTime() - task.submitted_at.getTime();
    expect(waited).toBeGreaterThanOrEqual(DEFAULT_NOT_FOUND_GRACE_MS);
    expect(waited).toBeLessThan(DEFAULT_NOT_FOUND_GRACE_MS + 30_000);
  });

  it('the sweeper asking about an expired hold gets the same outcome, not `timeout`', async () => {
    const { key, customerId } = await setup(ark);
    const id = await create(ark, key, 'swept [[scenario:not_found]]');
    await ctx.app.worker.dispatchOnce();
    expect((await ctx.app.deps.tasks.get(id))?.status).toBe('submitted');
    // Nobody polls it; days later the hold and the hard deadline have passed.
    ctx.app.clock.advance(3 * 24 * 3600_000);
    await ctx.app.worker.sweepOnce();
    await expectReleasedAsNotFound(ark, await ctx.app.deps.tasks.get(id), customerId);
  });
});
