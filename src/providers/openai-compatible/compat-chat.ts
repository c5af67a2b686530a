import { upstreamRequest } from '../shared/http.js';
import { upstreamStream, type UpstreamStream } from '../shared/http-stream.js';
import type { ProviderContext, ProviderError, TextResult, TextStreamEvent, TokenUsage } from '../spec.js';
import { classifyUpstreamError, networkError } from './compat-errors.js';
import { jsonHeaders, missingChannel, readErrorBody, upstreamUrl } from './compat-request.js';
import type { CompatSettings } from './compat-settings.js';
import { SseDecoder, type SseEvent } from './compat-sse.js';
import { normaliseUsage } from './compat-usage.js';

/**
 * Chat completions against any OpenAI-compatible upstream (PROVIDERS §4.2, §7). Non-streaming calls are a buffered
 * passthrough. Streams are relayed event by event; the first event is awaited before answering, so a stream that
 * fails before producing anything is still a plain `{ ok: false }` the engine can fail over on (nothing reached
 * the client yet), while a failure after that only sets `error()` (PROVIDERS §7: end the client stream, bill what
 * usage reports).
 */
function upstreamBody(body: Record<string, unknown>, stream: boolean, context: ProviderContext, settings: CompatSettings): string {
  const out: Record<string, unknown> = { ...body, model: context.upstreamModel, stream };
  if (stream && settings.streamUsage) {
    const clientOptions = typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
    // Always metered (quirk 22), whatever the client asked; the engine decides whether the client sees the chunk.
    out.stream_options = { ...clientOptions, include_usage: true };
  } else {
    // OpenAI rejects stream_options on non-streaming calls, and `streamUsage: false` upstreams reject it outright.
    delete out.stream_options;
  }
  return JSON.stringify(out);
}

export async function chat(
  body: Record<string, unknown>,
  stream: boolean,
  context: ProviderContext,
  settings: CompatSettings,
): Promise<TextResult> {
  const missing = missingChannel(context);
  if (missing) return { ok: false, error: missing };
  const request = {
    method: 'POST' as const,
    url: upstreamUrl(context, '/chat/completions'),
    headers: jsonHeaders(context, stream),
    body: upstreamBody(body, stream, context, settings),
    timeoutMs: settings.timeoutMs,
    ...(context.signal ? { signal: context.signal } : {}),
  };
  if (!stream) return chatBuffered(request, context, settings);

  let upstream: UpstreamStream;
  try {
    upstream = await upstreamStream(request);
  } catch (error) {
    return { ok: false, error: networkError(error) };
  }
  const contentType = String(upstream.headers['content-type'] ?? '');
  if (upstream.status < 200 || upstream.status >= 300 || /json/i.test(contentType)) {
    // An error answer, or a JSON body where an event stream was expected (an upstream that ignored `stream`).
    const { json, text } = await readErrorBody(upstream);
    const failed = upstream.status < 200 || upstream.status >= 300;
    const error: ProviderError =
      failed || hasError(json)
        ? classifyUpstreamError(failed ? upstream.status : 0, json, text, upstream.headers)
        : { class: 'upstream_error', message: 'openai-compatible: JSON answer to a streaming request' };
    return { ok: false, error, status: upstream.status };
  }
  return relayStream(upstream, context, settings);
}

function hasError(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'error' in json && !('choices' in json);
}

async function chatBuffered(
  request: Parameters<typeof upstreamRequest>[0],
  context: ProviderContext,
  settings: CompatSettings,
): Promise<TextResult> {
  let response;
  try {
    response = await upstreamRequest(request);
  } catch (error) {
    return { ok: false, error: networkError(error) };
  }
  if (response.status < 200 || response.status >= 300) {
    return { ok: false, status: response.status, error: classifyUpstreamError(response.status, response.json, response.text, response.headers) };
  }
  const json = response.json;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    // Generation may have happened (and been charged upstream), but there is nothing to relay.
    return { ok: false, status: response.status, error: { class: 'network', message: 'openai-compatible: 2xx with an empty or non-JSON body' } };
  }
  // Some compatible servers report failures inside a 200 (quirk 6's chat cousin).
  if (hasError(json)) return { ok: false, status: response.status, error: classifyUpstreamError(0, json, response.text, response.headers) };
  const result = json as Record<string, unknown>;
  return { ok: true, stream: false, body: result, usage: normaliseUsage(result.usage, settings.reasoningInCompletion) };
}

/** True for a chunk with anything a client would see or pay for (text, reasoning, tool calls, a finish, usage). */
function carriesOutput(json: Record<string, unknown>): boolean {
  if (json.usage !== undefined && json.usage !== null) return true;
  if (!Array.isArray(json.choices)) return true; // Unknown shape: do not hold it back.
  return json.choices.some((choice: unknown) => {
    if (typeof choice !== 'object' || choice === null) return false;
    const { delta, finish_reason: finish } = choice as { delta?: Record<string, unknown>; finish_reason?: unknown };
    if (finish) return true;
    if (!delta) return false;
    return Object.entries(delta).some(([key, value]) => key !== 'role' && key !== 'refusal' && value !== null && value !== '' && value !== undefined);
  });
}

/**
 * The relay of a stream that has begun: each read of the upstream body is decoded at once (no async step per event)
 * and its data events are handed on together, as one batch, so the client gets them in one write.
 */
function relayStream(upstream: UpstreamStream, context: ProviderContext, settings: CompatSettings): Promise<TextResult> {
  const decoder = new SseDecoder();
  const source = upstream.body[Symbol.asyncIterator]();
  let usage: TokenUsage | null = null;
  let failure: ProviderError | null = null;
  let done = false;
  /** No more reads: [DONE], an error event, the body's end or a read that failed (`done`/`failure` say which). */
  let over = false;

  /** Adds one SSE event's data event to `batch`; false once the stream is over ([DONE] or an error event). */
  function accept(sse: SseEvent, batch: TextStreamEvent[]): boolean {
    const { event, data } = sse;
    if (data.trim() === '[DONE]') {
      done = true;
      return false;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return true; // Keep-alive noise some proxies inject as data; a truncated line is followed by the drop itself.
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return true;
    const chunk = json as Record<string, unknown>;
    if (event === 'error' || hasError(chunk)) {
      failure = classifyUpstreamError(0, chunk, data, {});
      return false;
    }
    // Usually the final `choices: []` chunk; some servers attach usage to the last choice chunk instead.
    const reported = normaliseUsage(chunk.usage, settings.reasoningInCompletion);
    if (reported) usage = reported;
    batch.push({ data, json: chunk });
    return true;
  }

  /** The data events of the next read that has any, or null once the stream is over. */
  async function nextBatch(): Promise<TextStreamEvent[] | null> {
    while (!over) {
      let step: IteratorResult<Buffer>;
      try {
        step = await source.next();
      } catch (error) {
        // Our own abort() is not an upstream failure; anything else is a dropped connection or an idle timeout.
        over = true;
        if (!upstream.aborted) failure = networkError(error);
        return null;
      }
      const batch: TextStreamEvent[] = [];
      for (const sse of step.done ? decoder.end() : decoder.push(step.value)) {
        if (!accept(sse, batch)) {
          over = true;
          break;
        }
      }
      if (step.done && !over) {
        over = true;
        if (!upstream.aborted) failure = { class: 'network', message: 'openai-compatible: stream ended before [DONE]' };
      }
      if (batch.length > 0) return batch;
    }
    return null;
  }

  async function finish(): Promise<void> {
    // Closes the body reader. After [DONE] what is left is the body's end, read and dropped so the connection serves
    // the next request (drain); otherwise the socket is closed if the upstream is still sending.
    if (done) upstream.drain();
    await source.return?.(undefined).catch(() => undefined);
    if (!done) upstream.abort();
  }

  return (async (): Promise<TextResult> => {
    // Hold back the preamble (role chunk, empty deltas) until something real arrives: an upstream that fails
    // right after its role chunk has produced nothing yet, so the engine may still fail over.
    const held: TextStreamEvent[] = [];
    let real = false;
    while (!real && held.length < 16) {
      const batch = await nextBatch();
      if (!batch) break;
      held.push(...batch);
      real = batch.some((event) => carriesOutput(event.json));
    }
    if (!real && failure) {
      await finish();
      return { ok: false, error: failure, status: upstream.status };
    }
    async function* events(): AsyncGenerator<TextStreamEvent[]> {
      try {
        if (held.length > 0) yield held;
        for (let batch = await nextBatch(); batch; batch = await nextBatch()) yield batch;
      } finally {
        await finish();
      }
    }
    return {
      ok: true,
      stream: true,
      events: events(),
      usage: () => usage,
      error: () => failure,
      ended: () => over,
      abort: () => upstream.abort(),
    };
  })();
}
