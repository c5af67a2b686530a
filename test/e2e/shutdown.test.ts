import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/db/pool.js';
import { findInvariantViolations } from '../../src/modules/wallet/invariants.js';

/**
 * Graceful shutdown of `genrelay serve` (SEMANTICS "Shutdown"), as real processes on the embedded default against an
 * upstream in this test: SIGTERM waits for running handlers — also one whose client left — before the database
 * closes, so no hold is left held; past SHUTDOWN_GRACE_MS a stream is cut off, settled at what it produced and told
 * so, and a synchronous image wait answers 202 with its task. The database is read after each process exited.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-shutdown-'));
const children: ChildProcess[] = [];
let upstreamBase = '';
let operatorKey = '';
let testKey = '';
let liveKey = '';
const upstream = createHttpServer((request, response) => void serveUpstream(request, response));
/** Each held chat request, in arrival order: the test answers them. */
const held: Array<(content: string) => void> = [];
const arrivals: Array<() => void> = [];
let endlessClosed = 0;

async function serveUpstream(request: IncomingMessage, response: ServerResponse): Promise<void> {
  let raw = '';
  for await (const chunk of request) raw += chunk;
  const body = JSON.parse(raw || '{}') as { model?: string; stream?: boolean };
  if (body.model === 'endless-chat') {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => {
      response.write(`data: ${JSON.stringify({ id: 'up-1', object: 'chat.completion.chunk', created: 1, model: 'endless-chat', choices: [{ index: 0, delta: { content: 'word ' } }] })}\n\n`);
    }, 30);
    response.on('close', () => {
      clearInterval(timer);
      endlessClosed += 1;
    });
    return;
  }
  // hold-chat: answered when the test says so.
  const content = await new Promise<string>((resolve) => {
    held.push(resolve);
    arrivals.shift()?.();
  });
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({
    id: 'up-2', object: 'chat.completion', created: 1, model: 'hold-chat',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  }));
}

/** Resolves when the next held chat request reached the upstream. */
function nextArrival(): Promise<void> {
  return new Promise((resolve) => arrivals.push(resolve));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Serve {
  child: ChildProcess;
  base: string;
  text(): string;
  exited: Promise<number | null>;
}

async function serve(env: Record<string, string>): Promise<Serve> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/genrelay.mjs', 'serve'], {
    env: { ...process.env, LOG_LEVEL: 'warn', DATA_DIR: dataDir, PORT: String(port), SAFE_FETCH_TRUSTED_HOSTS: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 90_000; ; ) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${text}`);
    if (Date.now() > deadline) throw new Error(`serve did not become ready: ${text}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, base, text: () => text, exited };
}

/** A response's JSON body, untyped: the assertions say what it holds. */
const json = async (response: Response): Promise<any> => response.json();

/** What the embedded database holds once the server has exited. */
async function readStore<T>(read: (query: (sql: string, params?: unknown[]) => Promise<any[]>, db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ databaseUrl: null, dataDir });
  try {
    return await read(async (sql, params = []) => (await db.query(sql, params)).rows, db);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const address = upstream.address();
  upstreamBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
  // First start: the operator key and the demo's funded test key are printed once.
  const first = await serve({});
  for (const deadline = Date.now() + 10_000; !/Demo test API key:\s+(\S+)/.test(first.text()) && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  operatorKey = /Operator API key:\s+(\S+)/.exec(first.text())![1]!;
  testKey = /Demo test API key:\s+(\S+)/.exec(first.text())![1]!;
  const operator = async (path: string, body: unknown) => {
    const response = await fetch(`${first.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status, await response.clone().text()).toBe(201);
    return json(response);
  };
  const channel = await operator('/api/admin/channels', {
    name: 'held text', provider: 'openai-compatible', base_url: upstreamBase, models: { 'gpt-5-mini': 'hold-chat', 'grok-4-fast': 'endless-chat' },
  });
  await operator('/api/accounts', { channel_id: channel.id, credential: 'any-key' });
  const customer = await operator('/api/public/customers', { name: 'Shutdown' });
  await operator(`/api/public/customers/${customer.id}/credits`, { amount: 1_000_000, reason: 'shutdown test' });
  liveKey = (await operator(`/api/public/customers/${customer.id}/api-keys`, { name: 'live', mode: 'live' })).key;
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await new Promise((resolve) => upstream.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

const chat = (base: string, body: Record<string, unknown>, signal?: AbortSignal) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST', headers: { authorization: `Bearer ${liveKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal,
});

describe('SIGTERM waits for running requests before the database closes', () => {
  it('a request whose client left still settles its hold before the process exits', async () => {
    const server = await serve({});
    const arrived = nextArrival();
    const leaving = new AbortController();
    const gone = chat(server.base, { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'left' }] }, leaving.signal).catch((error: unknown) => error);
    await arrived;
    leaving.abort();
    await gone;
    server.child.kill('SIGTERM');
    // No connection is left, but the handler still waits for the upstream: the process must wait for it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.child.exitCode).toBeNull();
    held.shift()!('done');
    expect(await server.exited).toBe(0);

    const state = await readStore(async (query, db) => ({
      holds: await query("SELECT r.status, t.status AS task, t.charged FROM reservations r JOIN tasks t ON t.id = r.task_id WHERE t.model = 'gpt-5-mini'"),
      violations: await findInvariantViolations(db),
    }));
    expect(state.holds).toHaveLength(1);
    expect(state.holds[0].status).toBe('settled');
    expect(state.holds[0].task).toBe('succeeded');
    expect(BigInt(state.holds[0].charged)).toBeGreaterThan(0n);
    expect(Object.values(state.violations).flat()).toEqual([]);
  }, 120_000);

  it('a waiting client gets its answer, then the process exits without waiting for its idle connection', async () => {
    const server = await serve({});
    const arrived = nextArrival();
    const waiting = chat(server.base, { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'stays' }] });
    await arrived;
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.child.exitCode).toBeNull();
    held.shift()!('done');
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect((await json(answered)).choices[0].message.content).toBe('done');
    const since = Date.now();
    expect(await server.exited).toBe(0);
    // The client keeps its connection open (keep-alive): closing it is the server's job, not a 72-second timeout's.
    expect(Date.now() - since).toBeLessThan(10_000);
    const holds = await readStore((query) => query("SELECT r.status FROM reservations r JOIN tasks t ON t.id = r.task_id WHERE t.model = 'gpt-5-mini' ORDER BY t.created_at"));
    expect(holds.map((hold) => hold.status)).toEqual(['settled', 'settled']);
  }, 120_000);

  it('past the grace, a stream is cut off, settled at what it produced and told so; a synchronous wait answers 202', async () => {
    const server = await serve({ SHUTDOWN_GRACE_MS: '300', SANDBOX_QUEUE_MS: '600000' });
    const closedBefore = endlessClosed;
    const stream = await chat(server.base, { model: 'grok-4-fast', stream: true, messages: [{ role: 'user', content: 'go on' }] });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    while ((received.match(/data: /g) ?? []).length < 3) received += decoder.decode((await reader.read()).value);
    const imageTasks = async (): Promise<string[]> => {
      const listed = await fetch(`${server.base}/v1/tasks?type=image`, { headers: { authorization: `Bearer ${testKey}` } });
      return (await json(listed)).data.map((task: { id: string }) => task.id);
    };
    const before = await imageTasks();
    const image = fetch(`${server.base}/v1/images/generations`, {
      method: 'POST', headers: { authorization: `Bearer ${testKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a lighthouse' }),
    });
    // The signal comes once the synchronous wait runs (its task exists), not after a fixed pause: a request that
    // reaches a closing server is refused instead.
    for (const deadline = Date.now() + 30_000; (await imageTasks()).every((id) => before.includes(id)); ) {
      if (Date.now() > deadline) throw new Error('the image request never created its task');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    for (let part = await reader.read(); !part.done; part = await reader.read()) received += decoder.decode(part.value);
    const events = received.split('\n\n').filter((event) => event.startsWith('data: ')).map((event) => event.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!)).toEqual({ error: { message: 'The server is shutting down; the answer was cut off.', type: 'capacity_error', code: 'shutting_down' } });
    const words = events.slice(0, -2).map((event) => JSON.parse(event).choices[0].delta.content).join('');
    expect(words.length).toBeGreaterThan(0);
    const waited = await image;
    expect(waited.status).toBe(202);
    const task = await json(waited);
    expect(waited.headers.get('location')).toBe(`/v1/tasks/${task.id}`);
    expect(await server.exited).toBe(0);
    // Cut off soon after the grace, not after the synchronous wait's two minutes.
    expect(Date.now() - signalled).toBeLessThan(15_000);
    expect(endlessClosed).toBe(closedBefore + 1);

    const state = await readStore(async (query, db) => ({
      chat: (await query("SELECT r.status, t.status AS task, t.charged, r.amount FROM reservations r JOIN tasks t ON t.id = r.task_id WHERE t.model = 'grok-4-fast'"))[0],
      image: (await query('SELECT status FROM tasks WHERE id = $1', [task.id]))[0],
      violations: await findInvariantViolations(db),
    }));
    expect(state.chat.status).toBe('settled');
    expect(state.chat.task).toBe('succeeded');
    // Counted at about four characters a token (none reported): what the client received, never above the hold.
    expect(BigInt(state.chat.charged)).toBeGreaterThan(0n);
    expect(BigInt(state.chat.charged)).toBeLessThanOrEqual(BigInt(state.chat.amount));
    // The image task goes on: another process (or this one's next start) runs it.
    expect(['queued', 'dispatching', 'submitted', 'running']).toContain(state.image.status);
    expect(Object.values(state.violations).flat()).toEqual([]);
  }, 120_000);
});
