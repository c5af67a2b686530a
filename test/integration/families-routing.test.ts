import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { runLiveUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Per adapter, through the engine (issue 4 "Tests"): success charged the price, moderation charged 0, a 429 that
 * cools the credential down and fails over to a second channel, and an auth failure that disables a credential.
 */
const ctx = useTestApp();
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
  moderation: string;
  price: number;
}

const FAMILIES: Family[] = [
  { provider: 'ark', basePath: '/ark/api/v3', model: 'seedance-2.0-fast', upstream: 'dreamina-seedance-2-0-fast-260128', path: '/v1/videos', body: { seconds: 5 }, moderation: 'moderation_output', price: 5 * 1200 },
  { provider: 'xai', basePath: '/xai/v1', model: 'grok-imagine-video', upstream: 'grok-imagine-video', path: '/v1/videos', body: { seconds: 6, resolution: '480p' }, moderation: 'moderation_output', price: 6 * 500 },
  { provider: 'openai', basePath: '/openai/v1', model: 'sora-2', upstream: 'sora-2', path: '/v1/videos', body: { seconds: 4, size: '1280x720' }, moderation: 'moderation_output', price: 4 * 700 },
  { provider: 'dashscope', basePath: '/dashscope/api/v1', model: 'happyhorse-1.0', upstream: 'happyhorse-1.0-t2v', path: '/v1/videos', body: { seconds: 5, resolution: '720p' }, moderation: 'moderation_output', price: 5 * 1400 },
  { provider: 'newapi', basePath: '/newapi/v1', model: 'seedance-2.0', upstream: 'doubao-seedance-2-0', path: '/v1/videos', body: { seconds: 5, resolution: '720p' }, moderation: 'moderation_output', price: 5 * 1800 },
  { provider: 'suno', basePath: '/suno/api/v1', model: 'suno-v5', upstream: 'V5', path: '/v1/music/generations', body: {}, moderation: 'moderation_input', price: 1500 },
];

async function setup(family: Family, credentials: string[]) {
  const group = `g-${family.provider}-${Math.random().toString(36).slice(2, 8)}`;
  const channels = [];
  for (const [index, credential] of credentials.entries()) {
    const channel = await ctx.app.request('POST', '/api/admin/channels', {
      operator: true,
      body: { name: `${family.provider} ${index}`, provider: family.provider, base_url: `${mocks.baseUrl}${family.basePath}`, models: { [family.model]: family.upstream }, group, priority: 10 - index },
    });
    expect(channel.status, channel.text).toBe(201);
    const account = await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential } });
    channels.push({ id: channel.body.id as string, accountId: account.body.id as string });
  }
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { key: key.key as string, channels, customerId: customer.id as string };
}

async function create(family: Family, key: string, prompt: string) {
  const response = await ctx.app.request('POST', family.path, { key, body: { model: family.model, prompt, ...family.body } });
  expect(response.status, response.text).toBe(202);
  return response.body.id as string;
}

const finish = (taskId: string) => runLiveUntilDone(ctx.app, taskId);

function mockOf(family: Family) {
  return mocks.families.find((mounted) => mounted.prefix === `/${family.provider}`)!.context;
}

describe.each(FAMILIES)('$provider through the engine', (family) => {
  it('success is charged the price; moderation is charged 0', async () => {
    const { key, customerId } = await setup(family, ['mock-key']);
    const ok = await finish(await create(family, key, 'a quiet harbour at dawn'));
    expect(ok.status).toBe('succeeded');
    expect(Number(ok.charged)).toBe(family.price);
    expect(mockOf(family).stats.creates[ok.id]).toBe(1);
    const moderated = await finish(await create(family, key, `x [[scenario:${family.moderation}]]`));
    expect(moderated).toMatchObject({ status: 'failed', error_code: 'content_policy_violation', charged: 0n });
    const balance = await ctx.app.deps.wallet.balance(customerId, 'live');
    expect(Number(balance.balance)).toBe(1_000_000 - family.price);
    expect(Number(balance.reserved)).toBe(0);
  });

  it('a 429 cools the first credential down and the task fails over to the second channel', async () => {
    const { key, channels } = await setup(family, ['mock-key', 'mock-key']);
    mockOf(family).queueScenario('create', 'rate_limited;retry_after=90', 1);
    const task = await finish(await create(family, key, 'failover please'));
    expect(task.status).toBe('succeeded');
    expect(task.channel_id).toBe(channels[1]!.id);
    const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${channels[0]!.id}`, { operator: true });
    expect(accounts.body.data[0].status).toBe('cooldown');
  });

  it('an auth failure disables the credential and the task fails over', async () => {
    const { key, channels } = await setup(family, ['wrong-key', 'mock-key']);
    const task = await finish(await create(family, key, 'auth failover'));
    expect(task.status).toBe('succeeded');
    expect(task.channel_id).toBe(channels[1]!.id);
    const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${channels[0]!.id}`, { operator: true });
    expect(accounts.body.data[0]).toMatchObject({ status: 'disabled' });
  });
});

describe('exhausted upstream quota', () => {
  it.each(FAMILIES.map((family) => [family.provider, family] as const))('%s: the credential is disabled and the task fails over', async (_name, family) => {
    const { key, channels } = await setup(family, ['mock-key', 'mock-key']);
    mockOf(family).queueScenario('create', 'quota_exhausted', 1);
    const task = await finish(await create(family, key, 'quota failover'));
    expect(task.status).toBe('succeeded');
    expect(task.channel_id).toBe(channels[1]!.id);
    const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${channels[0]!.id}`, { operator: true });
    expect(accounts.body.data[0]).toMatchObject({ status: 'disabled', disabled_reason: expect.stringContaining('quota') });
  });
});
