import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { runLiveUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/** Live tasks end to end through real adapters and the combined mock server, upstream callbacks included. */
const ctx = useTestApp();
let mocks: RunningMock;

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 30, runningMs: 60 });
});

afterAll(async () => {
  await mocks?.close();
});

function family(name: string) {
  return mocks.families.find((mounted) => mounted.prefix === `/${name}`)!.context;
}

async function liveSetup(provider: string, basePath: string, models: Record<string, string>) {
  const group = `g-${provider}-${Math.random().toString(36).slice(2, 8)}`;
  const channel = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { name: provider, provider, base_url: `${mocks.baseUrl}${basePath}`, models, group } });
  expect(channel.status, channel.text).toBe(201);
  await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'mock-key' } });
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { key: key.key as string, channelId: channel.body.id as string };
}

const finish = (taskId: string) => runLiveUntilDone(ctx.app, taskId);

describe('live generation through each family', () => {
  it('Ark Seedance: callbacks reach /webhooks/upstream and duplicates are harmless', async () => {
    const { key } = await liveSetup('ark', '/ark/api/v3', { 'seedance-2.0-fast': 'dreamina-seedance-2-0-fast-260128' });
    const created = await ctx.app.request('POST', '/v1/videos', { key, body: { model: 'seedance-2.0-fast', prompt: 'waves [[scenario:callback_duplicate]]', seconds: 5 } });
    expect(created.status, created.text).toBe(202);
    const task = await finish(created.body.id);
    expect(task.status).toBe('succeeded');
    expect(Number(task.charged)).toBe(5 * 1200);
    // The callbacks go on after the task ended: wait for one (up to 10 s; only a failure waits that long).
    for (const deadline = Date.now() + 10_000; !family('ark').stats.callbacks.some((entry) => entry.url.includes('/webhooks/upstream/')) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const callbacks = family('ark').stats.callbacks.filter((entry) => entry.url.includes(`/webhooks/upstream/${task.channel_id}/${task.id}.`));
    expect(callbacks.length).toBeGreaterThan(0);
    expect(callbacks.every((entry) => entry.status === 200)).toBe(true);
    const charges = await ctx.app.deps.db.query("SELECT 1 FROM ledger_entries WHERE kind = 'charge' AND ref_id = (SELECT id FROM reservations WHERE task_id = $1)", [task.id]);
    expect(charges.rows).toHaveLength(1);
  });

  it('a forged callback token is refused; a valid token for another channel is refused too', async () => {
    const forged = await fetch(`${ctx.app.baseUrl}/webhooks/upstream/ch_x/task_y.badsignature`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(forged.status).toBe(404);
  });

  it('OpenAI gpt-image: a synchronous live image answers with a genrelay link', async () => {
    const { key } = await liveSetup('openai', '/openai/v1', { 'gpt-image-2': 'gpt-image-1' });
    ctx.app.worker.start();
    try {
      const response = await ctx.app.request('POST', '/v1/images/generations', { key, body: { model: 'gpt-image-2', prompt: 'a red kite', size: '1024x1024', quality: 'low' } });
      expect(response.status, response.text).toBe(200);
      expect(response.body.data[0].url).toMatch(/\/v1\/files\/file_/);
      const png = Buffer.from(await (await fetch(response.body.data[0].url)).arrayBuffer());
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(response.text).not.toContain(mocks.baseUrl.replace('http://', ''));
    } finally {
      await ctx.app.worker.stop();
    }
  });

  it('Suno: a live music task yields two tracks', async () => {
    const { key } = await liveSetup('suno', '/suno/api/v1', { 'suno-v5': 'V5' });
    const created = await ctx.app.request('POST', '/v1/music/generations', { key, body: { prompt: 'a calm lullaby', instrumental: true } });
    expect(created.status, created.text).toBe(202);
    const task = await finish(created.body.id);
    expect(task.status).toBe('succeeded');
    expect(task.result?.files).toHaveLength(2);
  });

  it('xAI: output moderation fails the task and charges nothing', async () => {
    const { key } = await liveSetup('xai', '/xai/v1', { 'grok-imagine-video': 'grok-imagine-video' });
    const created = await ctx.app.request('POST', '/v1/videos', { key, body: { model: 'grok-imagine-video', prompt: 'x [[scenario:moderation_output]]', seconds: 6, resolution: '480p' } });
    const task = await finish(created.body.id);
    expect(task).toMatchObject({ status: 'failed', error_code: 'content_policy_violation', charged: 0n });
  });

  it('new-api relay: a live video through another gateway', async () => {
    const { key } = await liveSetup('newapi', '/newapi/v1', { 'seedance-2.0': 'doubao-seedance-2-0-1080p' });
    const created = await ctx.app.request('POST', '/v1/video/generations', { key, body: { model: 'seedance-2.0', prompt: 'city at night', seconds: '5', metadata: { resolution: '720p' } } });
    expect(created.status, created.text).toBe(200);
    const task = await finish(created.body.task_id);
    expect(task.status).toBe('succeeded');
  });
});
