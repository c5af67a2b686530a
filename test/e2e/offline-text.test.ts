import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Trying text offline, as the README tells a newcomer (issue 10): `genrelay mock-upstreams` and `genrelay serve` as
 * real processes; an `openai-compatible` channel on `…/openai/v1` of the combined mock, an account, a customer with
 * live credits and a live key; then a streamed chat with usage, charged exactly, and an embedding.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-offline-'));
const children: ChildProcess[] = [];
let genrelay = '';
let mockBase = '';
let operatorKey = '';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function run(args: string[], env: Record<string, string>): { child: ChildProcess; text: () => string } {
  const child = spawn(process.execPath, ['bin/genrelay.mjs', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  return { child, text: () => text };
}

/** Polls `condition` until it holds; generous, as a first start (migrations, catalog, demo) is slow on a busy machine. */
async function until(condition: () => boolean | Promise<boolean>, child: ChildProcess, what: string, timeoutMs = 90_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`${what}: process exited with ${child.exitCode}`);
    try {
      if (await condition()) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: timed out`);
}

/** A response's JSON body, untyped: the assertions say what it holds. */
const json = async (response: Response): Promise<any> => response.json();

async function operator(method: string, path: string, body?: unknown) {
  const response = await fetch(`${genrelay}${path}`, {
    method,
    headers: { authorization: `Bearer ${operatorKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  const mockPort = await freePort();
  const mock = run(['mock-upstreams', '--port', String(mockPort)], {});
  mockBase = `http://127.0.0.1:${mockPort}`;
  // The header line and the table of families can arrive as separate writes: wait for the table's line.
  await until(() => mock.text().includes(`openai     ${mockBase}/openai/v1`), mock.child, 'mock-upstreams');
  expect(mock.text()).toContain('mock upstreams on');

  const port = await freePort();
  const serve = run(['serve'], { DATA_DIR: dataDir, PORT: String(port) });
  genrelay = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${genrelay}/readyz`)).status === 200, serve.child, 'serve');
  await until(() => /Operator API key:\s+(\S+)/.test(serve.text()), serve.child, 'first-start output');
  operatorKey = /Operator API key:\s+(\S+)/.exec(serve.text())![1]!;
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the combined mock serves OpenAI text beside the OpenAI media routes', () => {
  it('chat (streamed with usage, and not), embeddings and the model list under /openai/v1; videos still answer there', async () => {
    const base = `${mockBase}/openai/v1`;
    const headers = { authorization: 'Bearer any-key', 'content-type': 'application/json' };
    const streamed = await fetch(`${base}/chat/completions`, {
      method: 'POST', headers,
      body: JSON.stringify({ model: 'mock-chat', messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true } }),
    });
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    const events = (await streamed.text()).split('\n\n').filter((event) => event.startsWith('data: ')).map((event) => event.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('one two three');
    expect(chunks.at(-1).usage).toMatchObject({ completion_tokens: 3 });

    const plain = await json(await fetch(`${base}/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'mock-chat', messages: [{ role: 'user', content: 'hi' }] }) }));
    expect(plain).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'hi' } }], usage: { completion_tokens: 1 } });

    const embedded = await json(await fetch(`${base}/embeddings`, { method: 'POST', headers, body: JSON.stringify({ model: 'mock-embed', input: 'hello' }) }));
    expect(embedded).toMatchObject({ object: 'list', data: [{ object: 'embedding', index: 0 }], usage: { prompt_tokens: 2 } });

    const models = await json(await fetch(`${base}/models`, { headers }));
    expect(models.data.map((model: { id: string }) => model.id)).toEqual(['mock-chat', 'mock-embed']);

    const video = await fetch(`${base}/videos`, { method: 'POST', headers, body: JSON.stringify({ model: 'sora-2', prompt: 'a cat' }) });
    expect(video.status).toBe(200);
    expect((await json(video)).object).toBe('video');
    // The harness still checks the key on the text routes, in OpenAI's shape.
    const refused = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    expect((await json(refused)).error.code).toBe('invalid_api_key');
  });
});

describe('trying text offline through genrelay (README, "Trying adapters offline")', () => {
  it('a live key streams a chat, charged exactly the usage, and embeds', async () => {
    const channel = await operator('POST', '/api/admin/channels', {
      name: 'mock text', provider: 'openai-compatible', base_url: `${mockBase}/openai/v1`,
      models: { 'gpt-5-mini': 'mock-chat', 'text-embedding-3-small': 'mock-embed' },
    });
    expect(channel.status, channel.text).toBe(201);
    const account = await operator('POST', '/api/accounts', { channel_id: channel.body.id, credential: 'any-key' });
    expect(account.status, account.text).toBe(201);
    const customer = await operator('POST', '/api/public/customers', { name: 'Newcomer' });
    expect(customer.status, customer.text).toBe(201);
    const granted = await operator('POST', `/api/public/customers/${customer.body.id}/credits`, { amount: 100000, reason: 'trying it offline' });
    expect(granted.status, granted.text).toBe(201);
    const key = await operator('POST', `/api/public/customers/${customer.body.id}/api-keys`, { name: 'offline', mode: 'live' });
    expect(key.status, key.text).toBe(201);
    const live = { authorization: `Bearer ${key.body.key}`, 'content-type': 'application/json' };

    // Enough words that the charge is more than the 1-credit minimum a rounding slip would hide behind.
    const words = Array.from({ length: 400 }, (_, index) => `word${index}`);
    const response = await fetch(`${genrelay}/v1/chat/completions`, {
      method: 'POST', headers: live,
      body: JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: words.join(' ') }], stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    expect(text).not.toContain('mock-chat');
    const events = text.split('\n\n').map((event) => event.trim()).filter((event) => event.startsWith('data: ')).map((event) => event.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.every((chunk) => chunk.model === 'gpt-5-mini')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('')).toBe(words.join(' '));
    const usage = chunks.at(-1).usage;
    expect(usage.completion_tokens).toBe(words.length);
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    // gpt-5-mini: 1,750 credits per million input tokens, 14,000 per million output tokens, rounded up once.
    const chatCost = Math.ceil((usage.prompt_tokens * 1_750 + usage.completion_tokens * 14_000) / 1_000_000);
    expect(chatCost).toBeGreaterThan(1);

    const embedding = await fetch(`${genrelay}/v1/embeddings`, { method: 'POST', headers: live, body: JSON.stringify({ model: 'text-embedding-3-small', input: 'hello offline world' }) });
    const embedded = await json(embedding);
    expect(embedding.status, JSON.stringify(embedded)).toBe(200);
    expect(embedded.model).toBe('text-embedding-3-small');
    expect(embedded.data[0].embedding).toHaveLength(8);
    const embedCost = Math.ceil((embedded.usage.prompt_tokens * 140) / 1_000_000);

    const ledger = await operator('GET', `/api/public/customers/${customer.body.id}/credits`);
    const charges = ledger.body.entries.filter((entry: { kind: string }) => entry.kind === 'charge').map((entry: { amount: number }) => Number(entry.amount));
    expect(charges.sort()).toEqual([-chatCost, -embedCost].sort());
    // Until the server's credit lease of the wallet goes back (CREDIT_LEASE_IDLE_MS after the last request, 2 s), the
    // credit it holds and did not spend shows as reserved.
    let balance = await json(await fetch(`${genrelay}/v1/usage`, { headers: live }));
    expect(balance.creditsBalance).toBe(100000 - chatCost - embedCost);
    expect(balance.creditsReserved + balance.creditsAvailable).toBe(balance.creditsBalance);
    for (let wait = 0; wait < 100 && balance.creditsReserved !== 0; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      balance = await json(await fetch(`${genrelay}/v1/usage`, { headers: live }));
    }
    expect(balance).toEqual({ creditsBalance: 100000 - chatCost - embedCost, creditsReserved: 0, creditsAvailable: 100000 - chatCost - embedCost, mode: 'live' });
  });
});
