import OpenAI from 'openai';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testEngine } from '../harness/databases.js';
import { returnIdleLeases, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';
import { reserveTask } from '../harness/tasks.js';

/** Chat completions and embeddings with the official client on test keys (sandbox), billed by tokens (issue 5). */
const ctx = useTestApp();
const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${ctx.app.baseUrl}/v1`, maxRetries: 0 });
// grok-4-fast: 1,400 credits per million input tokens, 3,500 per million output tokens.
const cost = (usage: { prompt_tokens: number; completion_tokens: number }) => Math.ceil((usage.prompt_tokens * 1400 + usage.completion_tokens * 3500) / 1_000_000);

async function charges(customerId: string) {
  const rows = await ctx.app.deps.db.query<{ amount: bigint }>(
    "SELECT l.amount FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1 AND l.kind = 'charge' ORDER BY l.id",
    [customerId],
  );
  return rows.rows.map((row) => Number(row.amount));
}

describe('chat completions', () => {
  it('non-streaming: the OpenAI client works unchanged and the ledger shows exactly the token cost', async () => {
    const owner = await testCustomer(ctx.app);
    const completion = await client(owner.key).chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'Say hello to the world, please.' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('grok-4-fast');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices[0]!.message.content).toContain('sandbox');
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(await charges(owner.customerId)).toEqual([-cost(completion.usage!)]);
    // Admitted on this instance's credit lease (issue 14) and written once: its reservation names the lease.
    const hold = await ctx.app.deps.db.query<{ lease_id: string | null; status: string }>(
      "SELECT r.lease_id, r.status FROM reservations r JOIN tasks t ON t.id = r.task_id WHERE t.customer_id = $1", [owner.customerId]);
    expect(hold.rows).toEqual([{ lease_id: expect.stringMatching(/^lse_/), status: 'settled' }]);
    await returnIdleLeases(ctx.app);
    expect((await testWallet(ctx.app, owner.customerId)).reserved).toBe(0);
  });

  it('streaming: chunks arrive in OpenAI shape, end with [DONE], carry usage only when asked, and the charge is exact', async () => {
    const owner = await testCustomer(ctx.app);
    const stream = await client(owner.key).chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'Stream me a few words.' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe('grok-4-fast');
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toContain('sandbox');
    expect(usage).not.toBeNull();
    expect(await charges(owner.customerId)).toEqual([-cost(usage!)]);
    // Without include_usage the usage chunk is not forwarded, but the request is still billed.
    const raw = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'again' }], stream: true }),
    });
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    const body = await raw.text();
    expect(body.trim().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"usage":{');
    expect((await charges(owner.customerId)).length).toBe(2);
  });

  // A second session holds the wallet's row lock, so the settlement waits (PostgreSQL: the embedded engine has one session).
  it.runIf(testEngine() === 'postgres')('streaming: the events that come with the upstream\'s end wait for the charge and arrive with [DONE]', async () => {
    const owner = await testCustomer(ctx.app);
    // A first request takes this instance's credit lease of the wallet (a lock of its own), so the stream is admitted.
    await client(owner.key).chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'hello' }] });
    const holder = new pg.Client({ connectionString: ctx.app.database.url! });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM wallets WHERE customer_id = $1 FOR UPDATE', [owner.customerId]);
      const raw = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'Stream me a few words.' }], stream: true, stream_options: { include_usage: true } }),
      });
      const reader = raw.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const read = (async () => {
        for (let step = await reader.read(); !step.done; step = await reader.read()) text += decoder.decode(step.value, { stream: true });
      })();
      const until = async (what: string, done: () => Promise<boolean> | boolean) => {
        for (let attempt = 0; attempt < 500; attempt += 1) {
          if (await done()) return;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`waited in vain for ${what}`);
      };
      // The settlement waits on the lock; everything before the upstream's end has reached the client meanwhile.
      await until('the settlement to wait on the wallet', async () => (await holder.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%gr_record_group(%'`)).rows.length > 0);
      await until('the finish chunk', () => text.includes('"finish_reason":"stop"'));
      expect(text).not.toContain('"usage":{');
      expect(text).not.toContain('[DONE]');
      await holder.query('COMMIT');
      await read;
      const usage = JSON.parse(/data: (\{.*"usage":\{.*\})\n\n/.exec(text)![1]!).usage as { prompt_tokens: number; completion_tokens: number };
      expect((await charges(owner.customerId))[1]).toBe(-cost(usage));
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    } finally {
      await holder.end();
    }
  });

  it('an upstream failure before output is charged 0; a mid-stream failure ends the stream with an error event', async () => {
    const owner = await testCustomer(ctx.app);
    await expect(client(owner.key).chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'x [[scenario:server_error]]' }] })).rejects.toMatchObject({ status: 502 });
    await expect(client(owner.key).chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'x [[scenario:moderation_input]]' }] })).rejects.toMatchObject({ status: 400, code: 'content_policy_violation' });
    expect(await charges(owner.customerId)).toEqual([]);
    const raw = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'one two three four [[scenario:midstream_error]]' }], stream: true }),
    });
    const body = await raw.text();
    expect(body).toContain('"error"');
    expect(body).not.toContain('sandbox: midstream');
    await returnIdleLeases(ctx.app);
    expect((await testWallet(ctx.app, owner.customerId)).reserved).toBe(0);
  });

  it('rejects bad keys, server-owned fields, unknown or non-chat models and disallowed models; another key\'s limits apply', async () => {
    const owner = await testCustomer(ctx.app);
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }] } }), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key: owner.key, body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }], cost: 0 } }), 400, 'unknown_parameter');
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key: owner.key, body: { model: 'grok-4-fast', messages: [] } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key: owner.key, body: { model: 'sora-2', messages: [{ role: 'user', content: 'x' }] } }), 400, 'invalid_request');
    const narrow = await ctx.app.createKey(owner.customerId, { mode: 'test', allowed_models: ['gpt-5-mini'] });
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key: narrow.key, body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }] } }), 403, 'model_not_allowed');
    const poor = await testCustomer(ctx.app, 1);
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key: poor.key, body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }] } }), 402, 'insufficient_credits');
    const live = await ctx.app.createKey(owner.customerId, { mode: 'live' });
    expectV1Error(await ctx.app.request('POST', '/v1/chat/completions', { key: live.key, body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }] } }), 503, 'provider_capacity_unavailable');
  });
});

describe('embeddings', () => {
  it('the OpenAI client (base64 by default) and float both work; billed by input tokens', async () => {
    const owner = await testCustomer(ctx.app);
    const result = await client(owner.key).embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'second input'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]!.embedding.length).toBe(64);
    expect(typeof result.data[0]!.embedding[0]).toBe('number');
    const float = await ctx.app.request('POST', '/v1/embeddings', { key: owner.key, body: { model: 'text-embedding-3-small', input: 'hello world', encoding_format: 'float' } });
    expect(float.status).toBe(200);
    expect(float.body.model).toBe('text-embedding-3-small');
    expect(float.body.data[0].embedding[0]).toBeCloseTo(result.data[0]!.embedding[0]!, 5);
    const expected = Math.ceil((result.usage.prompt_tokens * 200) / 1_000_000);
    expect((await charges(owner.customerId))[0]).toBe(-expected);
  });
});

describe('cancelling a text request', () => {
  it('a chat or embedding task cannot be cancelled through the task API: its hold stays for the settle (no free answers)', async () => {
    const owner = await testCustomer(ctx.app);
    for (const type of ['chat', 'embedding'] as const) {
      const reserved = await reserveTask(ctx.app, { customerId: owner.customerId, keyId: owner.keyId, mode: 'test', cost: 50, type, model: 'grok-4-fast', initialStatus: 'dispatching', leaseOwner: 'http', leaseUntil: new Date(ctx.app.clock.now().getTime() + 600_000) });
      const answer = await ctx.app.request('POST', `/v1/tasks/${reserved.taskId}/cancel`, { key: owner.key });
      expectV1Error(answer, 409, 'task_not_cancellable');
      expect((await testWallet(ctx.app, owner.customerId)).reserved).toBe(50);
      const settled = await ctx.app.deps.wallet.settle(reserved.taskId, 7n, ctx.app.clock.now());
      expect(settled.outcome).toBe('settled');
      expect((await testWallet(ctx.app, owner.customerId)).reserved).toBe(0);
    }
    expect(await charges(owner.customerId)).toEqual([-7, -7]);
  });
});
