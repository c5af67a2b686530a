import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChatMock } from '../mock-upstreams/openai-compatible/server.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';
import { returnIdleLeases } from '../harness/flows.js';

/** Live chat through channels: exact token billing, failover before output, client disconnect (issue 5). */
const ctx = useTestApp();
let mock: Awaited<ReturnType<typeof startChatMock>>;
let slow: Awaited<ReturnType<typeof startChatMock>>;

beforeAll(async () => {
  mock = await startChatMock({});
  slow = await startChatMock({ chunkDelayMs: 150 });
});

afterAll(async () => {
  await mock?.close();
  await slow?.close();
});

async function setup(baseUrls: string[], provider = 'openai-compatible') {
  const group = `g-${Math.random().toString(36).slice(2, 8)}`;
  const channels: string[] = [];
  for (const [index, baseUrl] of baseUrls.entries()) {
    const channel = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { name: `chat ${index}`, provider, base_url: baseUrl, models: { 'gpt-5-mini': 'mock-chat' }, group, priority: 10 - index } });
    expect(channel.status, channel.text).toBe(201);
    await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'mock-key' } });
    channels.push(channel.body.id);
  }
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { key: key.key as string, customerId: customer.id as string, channels };
}

// gpt-5-mini: 1,750 credits per million input tokens, 14,000 per million output tokens.
const cost = (usage: { prompt_tokens: number; completion_tokens: number }) => Math.ceil((usage.prompt_tokens * 1750 + usage.completion_tokens * 14_000) / 1_000_000);

async function ledger(customerId: string) {
  const rows = await ctx.app.deps.db.query<{ amount: bigint }>("SELECT l.amount FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1 AND l.kind = 'charge'", [customerId]);
  return rows.rows.map((row) => Number(row.amount));
}

describe('live chat', () => {
  it('settles exactly the usage the upstream reported, with genrelay ids and model names', async () => {
    const { key, customerId } = await setup([mock.baseUrl]);
    const response = await ctx.app.request('POST', '/v1/chat/completions', { key, body: { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'one two three four five' }], temperature: 0.2 } });
    expect(response.status, response.text).toBe(200);
    expect(response.body.model).toBe('gpt-5-mini');
    expect(response.text).not.toContain('mock-chat');
    expect(response.body.system_fingerprint).toBeUndefined();
    expect(await ledger(customerId)).toEqual([-cost(response.body.usage)]);
    // Unread OpenAI fields travel to the upstream (E4 exception for text).
    expect(mock.control.stats().last_request_body).toMatchObject({ temperature: 0.2, model: 'mock-chat' });
  });

  it('a 429 before output tries the next channel in the same request; when every channel is limited it fails, charged 0, credentials cooling down', async () => {
    const { key, channels } = await setup([mock.baseUrl, mock.baseUrl]);
    const response = await ctx.app.request('POST', '/v1/chat/completions', { key, body: { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
    expect(response.status).toBe(200);
    const limited = await ctx.app.request('POST', '/v1/chat/completions', { key, body: { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi [[scenario:rate_limited;retry_after=30]]' }] } });
    // The scenario travels in the prompt, so every channel answers 429: the request fails, charged 0, and both credentials rest.
    expectV1Error(limited, 502, 'provider_error');
    for (const channel of channels) {
      const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${channel}`, { operator: true });
      expect(accounts.body.data[0].status).toBe('cooldown');
    }
  });

  it('an upstream error before output is charged 0; a stream error after output ends the stream with an error event', async () => {
    const { key, customerId } = await setup([mock.baseUrl]);
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key, body: { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'x [[scenario:server_error]]' }] } }), 502, 'provider_error');
    expect(await ledger(customerId)).toEqual([]);
    const raw = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'a b c d e f g h [[scenario:midstream_error;after=3]]' }], stream: true }),
    });
    const text = await raw.text();
    expect(text).toContain('"error"');
    await returnIdleLeases(ctx.app);
    const wallet = await ctx.app.deps.wallet.balance(customerId, 'live');
    expect(Number(wallet.reserved)).toBe(0);
  });

  it("an upstream whose body ends a moment after [DONE] is read to its end, not cut: its connection stays open for the next request", async () => {
    const { key, customerId } = await setup([mock.baseUrl]);
    const raw = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'one two three [[scenario:late_end;ms=40]]' }], stream: true }),
    });
    const text = await raw.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await ledger(customerId)).toHaveLength(1);
    // The client's stream ended at [DONE]; the upstream's body ends 40 ms later and is read to its end then.
    for (let wait = 0; wait < 100 && !mock.control.stats().log.at(-1)?.finished; wait += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const log = mock.control.stats().log.at(-1)!;
    expect(log.scenarios).toContain('late_end');
    expect(log.finished).toBe(true);
    expect(log.aborted).toBe(false);
  });

  it('a client that disconnects mid-stream aborts the upstream request and pays for what was produced', async () => {
    const { key, customerId } = await setup([slow.baseUrl]);
    const controller = new AbortController();
    const response = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
      method: 'POST', signal: controller.signal, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: Array.from({ length: 40 }, (_, index) => `word${index}`).join(' ') }], stream: true }),
    });
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('word2')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`stream ended early: ${received}`);
      received += new TextDecoder().decode(chunk.value);
    }
    controller.abort();
    for (let wait = 0; wait < 100; wait += 1) {
      const log = slow.control.stats().log.at(-1);
      if (log?.aborted && (await ledger(customerId)).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(slow.control.stats().log.at(-1)?.aborted).toBe(true);
    const charges = await ledger(customerId);
    expect(charges).toHaveLength(1);
    expect(charges[0]!).toBeLessThan(0);
    await returnIdleLeases(ctx.app);
    const wallet = await ctx.app.deps.wallet.balance(customerId, 'live');
    expect(Number(wallet.reserved)).toBe(0);
  });
});

describe('live embeddings', () => {
  it('base64 and float through a channel, billed by the input tokens the upstream reported', async () => {
    const group = `g-emb-${Math.random().toString(36).slice(2, 8)}`;
    const channel = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { name: 'emb', provider: 'openai-compatible', base_url: mock.baseUrl, models: { 'text-embedding-3-small': 'mock-embed' }, group } });
    await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'mock-key' } });
    const customer = await ctx.app.createCustomer({ group });
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 1_000_000, 'live');
    const base64 = await ctx.app.request('POST', '/v1/embeddings', { key: key.key, body: { model: 'text-embedding-3-small', input: ['alpha', 'beta'], encoding_format: 'base64' } });
    expect(base64.status, base64.text).toBe(200);
    expect(base64.body.model).toBe('text-embedding-3-small');
    expect(typeof base64.body.data[0].embedding).toBe('string');
    const float = await ctx.app.request('POST', '/v1/embeddings', { key: key.key, body: { model: 'text-embedding-3-small', input: 'alpha' } });
    expect(Array.isArray(float.body.data[0].embedding)).toBe(true);
    const expected = [base64.body.usage.prompt_tokens, float.body.usage.prompt_tokens].map((tokens: number) => -Math.ceil((tokens * 200) / 1_000_000));
    expect(await ledger(customer.id)).toEqual(expected);
  });
});
