import { EventEmitter } from 'node:events';
import { Agent, request, type Dispatcher } from 'undici';
import { networkErrorOf } from './http.js';

/**
 * Streaming sibling of `upstreamRequest` (http.ts) for server-sent events: it resolves as soon as the upstream's
 * headers arrive and hands back the body as an async iterable of chunks, so a chat stream can be relayed token by
 * token instead of buffered. Operator-configured base URLs only (customer URLs go through safe-fetch). Like
 * `upstreamRequest` it never throws on an HTTP status; network failures before the headers become
 * `UpstreamNetworkError` with `sent` (PROVIDERS §0.4). Failures while reading the body surface as errors thrown by
 * the iterator; the caller decides what a mid-stream drop means.
 */
export interface UpstreamStreamRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Headers deadline, and the longest silence allowed between two body chunks (not a total deadline). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UpstreamStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  /** Closes the upstream connection; a pending read of `body` then throws. Safe to call more than once. */
  abort(): void;
  /** True once `abort()` was called (or the caller's signal fired), so readers can tell it from a dropped connection. */
  readonly aborted: boolean;
}

/**
 * The abort reason of a reader that stopped early (every chat stream does, right after `[DONE]`): one object for
 * every stream, so closing the socket builds no error, and captures no stack, per stream.
 */
const READER_STOPPED = new Error('the reader stopped before the upstream body ended');

/**
 * What closes one upstream stream: undici takes an EventEmitter as a request's signal (it reads `aborted` and `reason`
 * and listens for 'abort'). Every chat stream makes one, and every stream whose reader stops before the body's end
 * fires it; an AbortController's signal is an EventTarget, whose creation and dispatch cost about 1.5 % of a billed
 * stream's CPU.
 */
class StreamCloser extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  /** Without a reason, the reason an AbortController gives (an `AbortError`), so undici fails the same way. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.emit('abort');
  }
}

// A separate pool from http.ts: long-lived streams should not starve short JSON calls of connections.
const agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 30_000, connections: 128 });

export async function upstreamStream(options: UpstreamStreamRequest, dispatcher: Dispatcher = agent): Promise<UpstreamStream> {
  const timeout = options.timeoutMs ?? 120_000;
  const controller = new StreamCloser();
  let aborted = false;
  const abort = () => {
    if (aborted) return;
    aborted = true;
    controller.abort();
  };
  // The caller's signal (client went away, engine shutdown) must close the upstream too.
  const onCallerAbort = () => abort();
  if (options.signal) {
    if (options.signal.aborted) abort();
    else options.signal.addEventListener('abort', onCallerAbort, { once: true });
  }
  const detach = () => options.signal?.removeEventListener('abort', onCallerAbort);
  try {
    const response = await request(options.url, {
      method: options.method,
      headers: options.headers ?? {},
      body: options.body ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      dispatcher,
      signal: controller,
    });
    const source = response.body;
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        // Not destroyed by the loop when the reader stops early: Node would destroy it with a new AbortError (and its
        // stack) per stream; the abort below closes it with the one shared reason instead.
        for await (const chunk of source.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
      } finally {
        detach();
        // A reader that stops early (break, return, a read error) must not leave the socket streaming into nowhere.
        // This is cleanup, not a caller's abort: `aborted` stays false so a drop is still reported as a drop.
        if (!source.readableEnded) controller.abort(READER_STOPPED);
      }
    }
    return {
      status: response.statusCode,
      headers: response.headers,
      body: chunks(),
      abort,
      get aborted() {
        return aborted;
      },
    };
  } catch (error) {
    detach();
    throw networkErrorOf(error, { aborted });
  }
}
