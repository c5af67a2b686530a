import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import {
  classifyUpstreamError,
  createOpenAICompatibleAdapter,
  createOpenAICompatibleText,
  floatsToBase64,
  isUsageOnlyChunk,
  normaliseUsage,
  SseDecoder,
} from '../../src/providers/openai-compatible/index.js';
import { sanitize } from '../../src/providers/shared/sanitize.js';
import type { ProviderContext, TextResult, TextStreamEvent } from '../../src/providers/spec.js';
import { startChatMock } from '../mock-upstreams/openai-compatible/server.js';

type Mock = Awaited<ReturnType<typeof startChatMock>>;
type StreamResult = Extract<TextResult, { ok: true; stream: true }>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function context(mock: { baseUrl: string }, overrides: Partial<ProviderContext> = {}): ProviderContext {
  return { clock: systemClock, upstreamModel: 'upstream-model', baseUrl: mock.baseUrl, credential: 'mock-key', settings: {}, attempt: 1, ...overrides };
}

function chatBody(prompt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'public-model', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }], ...extra };
}

function asStream(result: TextResult): StreamResult {
  if (!result.ok || !result.stream) throw new Error(`expected a stream, got ${JSON.stringify(result)}`);
  return result;
}

async function collect(result: StreamResult): Promise<TextStreamEvent[]> {
  const events: TextStreamEvent[] = [];
  for await (const batch of result.events) events.push(...batch);
  return events;
}

function content(events: TextStreamEvent[]): string {
  return events.map((event) => ((event.json.choices as any[])?.[0]?.delta?.content as string | undefined) ?? '').join('');
}

async function waitFor(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('openai-compatible adapter', () => {
  let mock: Mock;
  const text = createOpenAICompatibleText({});

  beforeAll(async () => {
    mock = await startChatMock();
  });
  afterAll(async () => {
    await mock.close();
  });
  beforeEach(() => mock.control.reset());

  it('is a text-only adapter', async () => {
    const adapter = createOpenAICompatibleAdapter({});
    expect(adapter.id).toBe('openai-compatible');
    expect(adapter.capabilities).toEqual({ kinds: [], cancel: false, idempotentCreates: false });
    expect(adapter.text?.embeddings).toBeTypeOf('function');
    const start = await adapter.start({ taskId: 't', kind: 'video', model: 'm', prompt: 'p', references: [] }, context(mock));
    expect(start).toMatchObject({ outcome: 'rejected', error: { class: 'unsupported' } });
    await expect(adapter.status({}, context(mock))).rejects.toThrow();
  });

  describe('chat, non-streaming', () => {
    it('relays the body with the upstream model and normalises usage', async () => {
      const result = await text.chat(chatBody('one two three', { stream_options: { include_usage: true } }), false, context(mock));
      expect(result.ok && !result.stream).toBe(true);
      if (!result.ok || result.stream) return;
      expect(result.body).toMatchObject({ object: 'chat.completion', model: 'upstream-model' });
      expect((result.body.choices as any[])[0].message.content).toBe('one two three');
      expect(String(result.body.id)).toMatch(/^chatcmpl-/);
      const prompt = Math.ceil('Be brief.\none two three'.length / 4);
      expect(result.usage).toEqual({ tokens_in: prompt, tokens_in_cached: 0, tokens_out: 3, tokens_reasoning: 0 });
      const sent = mock.control.stats().last_request_body as Record<string, unknown>;
      expect(sent).toMatchObject({ model: 'upstream-model', stream: false });
      // OpenAI rejects stream_options on non-streaming calls.
      expect(sent.stream_options).toBeUndefined();
    });

    it('reports missing usage as null', async () => {
      const result = await text.chat(chatBody('hi [[scenario:no_usage]]'), false, context(mock));
      expect(result).toMatchObject({ ok: true, stream: false, usage: null });
    });
  });

  describe('chat, streaming', () => {
    it('relays events, forces include_usage upstream and captures usage', async () => {
      const result = asStream(await text.chat(chatBody('alpha beta gamma delta', { stream: true }), true, context(mock)));
      const events = await collect(result);
      expect(content(events)).toBe('alpha beta gamma delta');
      expect((events[0]!.json.choices as any[])[0].delta).toMatchObject({ role: 'assistant', content: '' });
      expect(events.every((event) => JSON.parse(event.data) && event.data !== '[DONE]')).toBe(true);
      const last = events.at(-1)!;
      expect(isUsageOnlyChunk(last.json)).toBe(true);
      expect(result.usage()).toMatchObject({ tokens_out: 4, tokens_reasoning: 0 });
      expect(result.error()).toBeNull();
      const entry = mock.control.stats().log.at(-1)!;
      expect(entry).toMatchObject({ stream: true, includeUsage: true, aborted: false, finished: true });
      expect(mock.control.stats().last_request_body).toMatchObject({ model: 'upstream-model', stream: true, stream_options: { include_usage: true } });
    });

    it('delivers events incrementally, before the upstream has finished', async () => {
      const slow = await startChatMock({ chunkDelayMs: 500 });
      try {
        const started = Date.now();
        const result = asStream(await text.chat(chatBody('w1 w2 w3 w4 w5 w6 w7 w8'), true, context(slow)));
        const iterator = result.events[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.done).toBe(false);
        // 8 words × 500 ms: the whole answer needs 4 s; the first event (sent at once) must not wait for it.
        expect(Date.now() - started).toBeLessThan(3_500);
        expect(slow.control.stats().log.at(-1)!.finished).toBe(false);
        const rest: TextStreamEvent[] = [...(first.value as TextStreamEvent[])];
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) rest.push(...step.value);
        expect(content(rest)).toBe('w1 w2 w3 w4 w5 w6 w7 w8');
        expect(result.usage()?.tokens_out).toBe(8);
      } finally {
        await slow.close();
      }
    });

    it('parses events split across writes', async () => {
      const result = asStream(await text.chat(chatBody('héllo wörld 😀 [[scenario:fragmented]]'), true, context(mock)));
      const events = await collect(result);
      expect(content(events)).toBe('héllo wörld 😀');
      expect(result.error()).toBeNull();
      expect(result.usage()?.tokens_out).toBe(3);
    });

    it('counts reasoning with OpenAI semantics (completion includes reasoning)', async () => {
      const result = asStream(await text.chat(chatBody('a b c [[scenario:reasoning]]'), true, context(mock)));
      const events = await collect(result);
      const reasoning = events.map((event) => (event.json.choices as any[])?.[0]?.delta?.reasoning_content ?? '').join('');
      expect(reasoning).toBe('Let me think about it.');
      expect(result.usage()).toMatchObject({ tokens_out: 3, tokens_reasoning: 5 });
    });

    it('counts reasoning with xAI semantics (completion excludes reasoning)', async () => {
      const xai = await startChatMock({ reasoning: 'excluded' });
      try {
        const adapter = createOpenAICompatibleText({ reasoningInCompletion: false });
        const streamed = asStream(await adapter.chat(chatBody('a b c [[scenario:reasoning]]'), true, context(xai)));
        await collect(streamed);
        expect(streamed.usage()).toMatchObject({ tokens_out: 3, tokens_reasoning: 5 });
        const buffered = await adapter.chat(chatBody('a b c [[scenario:reasoning]]'), false, context(xai));
        expect(buffered).toMatchObject({ ok: true, usage: { tokens_out: 3, tokens_reasoning: 5 } });
        // The wrong flag would under-count: OpenAI semantics on an xAI upstream subtracts reasoning twice.
        const wrong = await createOpenAICompatibleText({}).chat(chatBody('a b c [[scenario:reasoning]]'), false, context(xai));
        expect(wrong).toMatchObject({ ok: true, usage: { tokens_out: 0 } });
      } finally {
        await xai.close();
      }
    });

    it('reports usage() null when the upstream never sends the usage chunk', async () => {
      const result = asStream(await text.chat(chatBody('x y [[scenario:no_usage]]'), true, context(mock)));
      const events = await collect(result);
      expect(content(events)).toBe('x y');
      expect(result.usage()).toBeNull();
      expect(result.error()).toBeNull();
      expect(mock.control.stats().log.at(-1)!.includeUsage).toBe(true);
    });

    it('omits stream_options when streamUsage is off', async () => {
      const adapter = createOpenAICompatibleText({ streamUsage: false });
      const result = asStream(await adapter.chat(chatBody('x y [[scenario:stream_options_rejected]]', { stream_options: { include_usage: true } }), true, context(mock)));
      await collect(result);
      expect(result.error()).toBeNull();
      expect(result.usage()).toBeNull();
      expect(mock.control.stats().last_request_body).not.toHaveProperty('stream_options');
    });

    it('sets error() after some events on a mid-stream error event', async () => {
      const result = asStream(await text.chat(chatBody('one two three four five [[scenario:midstream_error]]'), true, context(mock)));
      const events = await collect(result);
      expect(content(events)).toBe('one two');
      expect(result.error()).toMatchObject({ class: 'upstream_error' });
      expect(result.error()!.message).not.toMatch(/req_/);
      expect(result.usage()).toBeNull();
    });

    it('sets error() after some events when the connection drops', async () => {
      const result = asStream(await text.chat(chatBody('one two three four five [[scenario:midstream_disconnect]]'), true, context(mock)));
      const events = await collect(result);
      expect(content(events)).toBe('one two');
      expect(result.error()).toMatchObject({ class: 'network' });
      expect(mock.control.stats().log.at(-1)).toMatchObject({ dropped: true, aborted: false });
    });

    it('a failure before any output (only the role chunk sent) is a plain ok:false', async () => {
      const error = await text.chat(chatBody('one two [[scenario:midstream_error;after=0]]'), true, context(mock));
      expect(error).toMatchObject({ ok: false, status: 200, error: { class: 'upstream_error' } });
      const drop = await text.chat(chatBody('one two [[scenario:midstream_disconnect;after=0]]'), true, context(mock));
      expect(drop).toMatchObject({ ok: false, error: { class: 'network' } });
    });

    it('abort() closes the upstream connection', async () => {
      // Chunks a second apart (here and below): the upstream is still streaming when the abort reaches it, however
      // slow the machine; the abort ends the test, not the stream.
      const slow = await startChatMock({ chunkDelayMs: 1_000 });
      try {
        const result = asStream(await text.chat(chatBody('a b c d e f g h i j k l'), true, context(slow)));
        const seen: TextStreamEvent[] = [];
        for await (const batch of result.events) {
          seen.push(...batch);
          if (seen.length >= 2) result.abort();
        }
        expect(seen.length).toBe(2);
        expect(result.error()).toBeNull();
        await waitFor(() => slow.control.stats().log.at(-1)!.aborted);
        expect(slow.control.stats().log.at(-1)!.finished).toBe(false);
      } finally {
        await slow.close();
      }
    });

    it('a consumer that stops iterating also closes the upstream', async () => {
      const slow = await startChatMock({ chunkDelayMs: 1_000 });
      try {
        const result = asStream(await text.chat(chatBody('a b c d e f g h'), true, context(slow)));
        for await (const _event of result.events) break;
        await waitFor(() => slow.control.stats().log.at(-1)!.aborted);
      } finally {
        await slow.close();
      }
    });

    it('context.signal aborts the upstream too', async () => {
      const slow = await startChatMock({ chunkDelayMs: 1_000 });
      try {
        const controller = new AbortController();
        const result = asStream(await text.chat(chatBody('a b c d e f g h'), true, context(slow, { signal: controller.signal })));
        const iterator = result.events[Symbol.asyncIterator]();
        await iterator.next();
        controller.abort();
        await waitFor(() => slow.control.stats().log.at(-1)!.aborted);
        for (let step = await iterator.next(); !step.done; step = await iterator.next());
        expect(result.error()).toBeNull();
      } finally {
        await slow.close();
      }
    });
  });

  describe('errors before output', () => {
    const cases: Array<[string, string, number?]> = [
      ['invalid_param', 'invalid_request'],
      ['moderation_input', 'moderation_input'],
      ['unauthorized', 'auth'],
      ['not_found', 'not_found'],
      ['quota_exhausted', 'upstream_quota'],
      ['rate_limited;retry_after=7', 'rate_limited', 7],
      ['rate_limited', 'rate_limited', 2],
      ['rate_limited;retry_after_ms=2500', 'rate_limited', 3],
      ['server_error', 'upstream_error'],
      ['conn_reset', 'network'],
    ];
    for (const stream of [false, true]) {
      for (const [scenario, expected, retryAfter] of cases) {
        it(`${scenario} → ${expected} (${stream ? 'stream' : 'buffered'})`, async () => {
          const result = await text.chat(chatBody(`hello [[scenario:${scenario}]]`), stream, context(mock));
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.error.class).toBe(expected);
          if (retryAfter !== undefined) expect(result.error.retryAfterSeconds).toBe(retryAfter);
          expect(result.error.message).not.toMatch(/req_[0-9a-f]|mock-key|mo\*\*\*ey/);
        });
      }
    }

    it('a wrong key → auth, without leaking the key', async () => {
      const result = await text.chat(chatBody('hello'), true, context(mock, { credential: 'sk-wrong-key-123456' }));
      expect(result).toMatchObject({ ok: false, status: 401, error: { class: 'auth' } });
      if (!result.ok) expect(result.error.message).not.toMatch(/wrong-key|sk-wr|56\b/);
    });

    it('a refused connection → network', async () => {
      const closed = await startChatMock();
      const baseUrl = closed.baseUrl;
      await closed.close();
      const result = await text.chat(chatBody('hello'), true, context({ baseUrl }));
      expect(result).toMatchObject({ ok: false, error: { class: 'network' } });
      const buffered = await text.embeddings!({ input: 'x', model: 'e' }, context({ baseUrl }));
      expect(buffered).toMatchObject({ ok: false, error: { class: 'network' } });
    });

    it('a missing credential → auth without calling the upstream', async () => {
      const result = await text.chat(chatBody('hello'), false, context(mock, { credential: undefined }));
      expect(result).toMatchObject({ ok: false, error: { class: 'auth' } });
      expect(mock.control.stats().requests.chat).toBeUndefined();
    });

    it.each([
      ['message', 'upstream_error'],
      ['msg', 'upstream_error'],
      ['string', 'upstream_error'],
      ['text', 'upstream_error'],
    ])('reads a non-OpenAI error body (shape=%s)', async (shape, expected) => {
      const result = await text.chat(chatBody(`hello [[scenario:server_error;shape=${shape}]]`), false, context(mock));
      expect(result).toMatchObject({ ok: false, status: 500, error: { class: expected } });
      if (!result.ok) expect(result.error.message).toContain('The server had an error');
    });
  });

  describe('embeddings', () => {
    it('relays float vectors and reports prompt tokens', async () => {
      const result = await text.embeddings!({ model: 'public-embed', input: ['first text', 'second'], dimensions: 4 }, context(mock));
      expect(result.ok).toBe(true);
      if (!result.ok || result.stream) return;
      const data = result.body.data as Array<{ embedding: number[]; index: number }>;
      expect(data).toHaveLength(2);
      expect(data[0]!.embedding).toHaveLength(4);
      expect(result.usage).toEqual({ tokens_in: Math.ceil(10 / 4) + Math.ceil(6 / 4), tokens_out: 0 });
      expect(mock.control.stats().last_request_body).toMatchObject({ model: 'upstream-model' });
    });

    it('relays base64 when the upstream supports it', async () => {
      const floats = await text.embeddings!({ model: 'e', input: 'same input' }, context(mock));
      const encoded = await text.embeddings!({ model: 'e', input: 'same input', encoding_format: 'base64' }, context(mock));
      if (!floats.ok || floats.stream || !encoded.ok || encoded.stream) throw new Error('expected results');
      expect(mock.control.stats().last_request_body).toMatchObject({ encoding_format: 'base64' });
      const vector = (floats.body.data as any[])[0].embedding as number[];
      const b64 = (encoded.body.data as any[])[0].embedding as string;
      expect(b64).toBe(floatsToBase64(vector));
      const decoded = Buffer.from(b64, 'base64');
      expect(Array.from({ length: decoded.length / 4 }, (_, i) => decoded.readFloatLE(i * 4))).toEqual(vector);
    });

    it('requests floats and encodes base64 itself when embeddingsBase64 is off', async () => {
      const adapter = createOpenAICompatibleText({ embeddingsBase64: false });
      const floats = await adapter.embeddings!({ model: 'e', input: 'same input' }, context(mock));
      const encoded = await adapter.embeddings!({ model: 'e', input: 'same input', encoding_format: 'base64' }, context(mock));
      if (!floats.ok || floats.stream || !encoded.ok || encoded.stream) throw new Error('expected results');
      expect(mock.control.stats().last_request_body).toMatchObject({ encoding_format: 'float' });
      const vector = (floats.body.data as any[])[0].embedding as number[];
      const b64 = (encoded.body.data as any[])[0].embedding as string;
      const decoded = Buffer.from(b64, 'base64');
      expect(decoded.length).toBe(vector.length * 4);
      expect(Array.from({ length: vector.length }, (_, i) => decoded.readFloatLE(i * 4))).toEqual(vector);
      expect(encoded.usage).toMatchObject({ tokens_in: 3, tokens_out: 0 });
    });

    it('classifies embeddings errors', async () => {
      const result = await text.embeddings!({ model: 'e', input: 'x [[scenario:quota_exhausted]]' }, context(mock));
      expect(result).toMatchObject({ ok: false, status: 429, error: { class: 'upstream_quota' } });
      const wrong = await text.embeddings!({ model: 'e', input: 'x' }, context(mock, { credential: 'bad-key-0000' }));
      expect(wrong).toMatchObject({ ok: false, error: { class: 'auth' } });
    });
  });
});

describe('openai-compatible mock fidelity (official SDK as the client)', () => {
  it('speaks chat, streams with usage and base64 embeddings the way the SDK expects', async () => {
    const mock = await startChatMock();
    try {
      const client = new OpenAI({ apiKey: 'mock-key', baseURL: mock.baseUrl, maxRetries: 0 });
      const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi there' }] });
      expect(completion.choices[0]!.message.content).toBe('hi there');
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'a b' }], stream: true, stream_options: { include_usage: true } });
      let text = '';
      let usage: unknown = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('a b');
      expect(usage).toMatchObject({ completion_tokens: 2 });
      // The SDK asks for base64 by default and decodes little-endian float32 itself.
      const sdk = await client.embeddings.create({ model: 'e', input: 'same input' });
      const raw = await createOpenAICompatibleText({}).embeddings!({ model: 'e', input: 'same input' }, context(mock));
      if (!raw.ok || raw.stream) throw new Error('expected embeddings');
      expect(sdk.data[0]!.embedding).toEqual((raw.body.data as any[])[0].embedding);
      await expect(new OpenAI({ apiKey: 'nope', baseURL: mock.baseUrl, maxRetries: 0 }).embeddings.create({ model: 'e', input: 'x' })).rejects.toMatchObject({ status: 401 });
    } finally {
      await mock.close();
    }
  });
});

describe('openai-compatible pieces', () => {
  it('normalises usage both ways and rejects empty usage', () => {
    const usage = { prompt_tokens: 10, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 5 } };
    expect(normaliseUsage(usage, true)).toEqual({ tokens_in: 10, tokens_in_cached: 4, tokens_out: 15, tokens_reasoning: 5 });
    expect(normaliseUsage(usage, false)).toEqual({ tokens_in: 10, tokens_in_cached: 4, tokens_out: 20, tokens_reasoning: 5 });
    expect(normaliseUsage(null, true)).toBeNull();
    expect(normaliseUsage({}, true)).toBeNull();
  });

  it('classifies by code before status, and leniently reads bodies', () => {
    expect(classifyUpstreamError(429, { error: { code: 'insufficient_quota', message: 'x' } }, '', {}).class).toBe('upstream_quota');
    expect(classifyUpstreamError(429, { error: 'slow down' }, '', { 'retry-after': '3' })).toMatchObject({ class: 'rate_limited', retryAfterSeconds: 3 });
    expect(classifyUpstreamError(400, { error: { code: 'model_not_found', message: 'no' } }, '', {}).class).toBe('not_found');
    expect(classifyUpstreamError(400, { msg: 'content_filter hit', code: 'content_filter' }, '', {}).class).toBe('moderation_input');
    expect(classifyUpstreamError(403, undefined, 'Forbidden', {})).toMatchObject({ class: 'auth' });
    expect(classifyUpstreamError(503, undefined, '<html>bad gateway</html>', {}).message).toContain('bad gateway');
    expect(classifyUpstreamError(0, { error: { message: 'boom', type: 'server_error' } }, '', {}).class).toBe('upstream_error');
  });

  it('sanitises request ids, keys and the credential', () => {
    const clean = sanitize('Incorrect API key provided: sk-abc***wxyz. request id: req_123 (key my-secret-credential) Bearer abc.def', { credential: 'my-secret-credential' });
    expect(clean).not.toMatch(/abc\*|wxyz|req_123|my-secret|abc\.def/);
  });

  it('reads SSE with comments, multi-line data, CRLF and a trailing [DONE] without blank line', () => {
    const euro = Buffer.from('data: "€"\n\n');
    const chunks = [
      Buffer.from(': ping\r\n\r\ndata: {"a":'),
      Buffer.from('1}\r\n\r\nevent: error\ndata: {"b"\ndata: :2}\n\n'),
      euro.subarray(0, 8),
      euro.subarray(8),
      Buffer.from('data: [DONE]'),
    ];
    const decoder = new SseDecoder();
    const events = [...chunks.flatMap((chunk) => decoder.push(chunk)), ...decoder.end()];
    expect(events).toEqual([
      { event: 'message', data: '{"a":1}' },
      { event: 'error', data: '{"b"\n:2}' },
      { event: 'message', data: '"€"' },
      { event: 'message', data: '[DONE]' },
    ]);
  });

  it('decodes every event a chunk completes at once, and keeps a lone trailing CR for the next chunk', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(Buffer.from('data: 1\n\ndata: 2\r\n\r\n: note\n\ndata: 3\r'))).toEqual([
      { event: 'message', data: '1' },
      { event: 'message', data: '2' },
    ]);
    // The "\r" closing "data: 3" may be the first half of "\r\n": nothing is decided until the next bytes.
    expect(decoder.push(Buffer.from('\n'))).toEqual([]);
    expect(decoder.push(Buffer.from('\r\nevent: error\rdata: 4\r\r'))).toEqual([{ event: 'message', data: '3' }]);
    // The event's closing "\r" was held back too, until a byte that is not "\n" came.
    expect(decoder.push(Buffer.from('data: [DONE]'))).toEqual([{ event: 'error', data: '4' }]);
    expect(decoder.end()).toEqual([{ event: 'message', data: '[DONE]' }]);
  });

  it('relays the events of one upstream read as one batch, and stops at [DONE] within it', async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const usage = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } })}\n\n`;
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Preamble and first words in one write, the rest (and a stray event after [DONE]) in a second one.
      res.write(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'one' }) + chunk({ content: ' two' }));
      setTimeout(() => res.end(chunk({}, 'stop') + usage + 'data: [DONE]\n\n' + chunk({ content: 'late' })), 50);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const result = asStream(await createOpenAICompatibleText({}).chat(chatBody('x'), true, context({ baseUrl: `http://127.0.0.1:${port}/v1` })));
      const batches: TextStreamEvent[][] = [];
      for await (const batch of result.events) batches.push(batch);
      expect(batches.map((batch) => batch.length)).toEqual([3, 2]);
      expect(content(batches.flat())).toBe('one two');
      expect(result.usage()).toMatchObject({ tokens_in: 3, tokens_out: 2 });
      expect(result.error()).toBeNull();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('survives an upstream that ignores stream and answers JSON, or streams an error event first', async () => {
    const server = createServer((req, res) => {
      if (req.url?.includes('json')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"error":{"message":"Rate limit, try again in 2s","code":"rate_limit_exceeded"}}\n\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const adapter = createOpenAICompatibleText({});
      const json = await adapter.chat(chatBody('x'), true, context({ baseUrl: `http://127.0.0.1:${port}/json/v1` }));
      expect(json).toMatchObject({ ok: false, error: { class: 'upstream_error' } });
      const early = await adapter.chat(chatBody('x'), true, context({ baseUrl: `http://127.0.0.1:${port}/v1` }));
      expect(early).toMatchObject({ ok: false, error: { class: 'rate_limited', retryAfterSeconds: 2 } });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
