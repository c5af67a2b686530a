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
  /** How long the rest of a body may take to arrive after `drain()` before its connection is closed instead. */
  drainMs?: number;
}

export interface UpstreamStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer>;
  /** Closes the upstream connection; a pending read of `body` then throws. Safe to call more than once. */
  abort(): void;
  /** True once `abort()` was called (or the caller's signal fired), so readers can tell it from a dropped connection. */
  readonly aborted: boolean;
  /**
   * The reader has all it needs (a chat stream's `[DONE]`) and is about to stop reading: what is left of the body —
   * normally only the end of its chunked encoding, which may arrive a moment after `[DONE]` — is read and dropped, so
   * the connection goes back to the pool and serves the next request instead of being closed (on a real upstream, a
   * new TLS connection each time). At most `DRAIN_BYTES` more and `drainMs`; past either the connection is closed.
   */
  drain(): void;
}

/** After `drain()`: how much more of a body is read and dropped before its connection is closed instead. */
const DRAIN_BYTES = 64 * 1024;
/** After `drain()`: how long the rest of a body may take (the default of `drainMs`). */
const DRAIN_MS = 1_000;

/**
 * The bodies being drained, and by when each must have ended. One timer checks them all (a timer per stream would
 * cost every stream; most bodies end within the same read as `[DONE]` and are never drained). The timer is unref'd,
 * so it keeps no process alive.
 */
const draining = new Map<StreamCloser, number>();
let drainTimer: NodeJS.Timeout | null = null;

function watchDrain(closer: StreamCloser, ms: number): void {
  draining.set(closer, Date.now() + ms);
  if (drainTimer) return;
  drainTimer = setInterval(() => {
    const now = Date.now();
    for (const [late, deadline] of draining) {
      if (deadline > now) continue;
      draining.delete(late);
      late.abort(READER_STOPPED);
    }
    if (draining.size === 0 && drainTimer) {
      clearInterval(drainTimer);
      drainTimer = null;
    }
  }, Math.max(10, Math.min(ms, DRAIN_MS) / 4));
  drainTimer.unref();
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
  let drainRequested = false;
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
    let read = 0;
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        // Not destroyed by the loop when the reader stops early: Node would destroy it with a new AbortError (and its
        // stack) per stream; the abort below closes it with the one shared reason instead.
        for await (const chunk of source.iterator({ destroyOnReturn: false })) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } finally {
        detach();
        if (!source.readableEnded) {
          if (drainRequested && !aborted) {
            // The rest is the body's end: read and dropped, within bounds, so the connection is reused (drain()).
            watchDrain(controller, options.drainMs ?? DRAIN_MS);
            void source.dump({ limit: read + DRAIN_BYTES }).catch(() => undefined).finally(() => draining.delete(controller));
          } else {
            // A reader that stops early (break, return, a read error) must not leave the socket streaming into
            // nowhere. This is cleanup, not a caller's abort: `aborted` stays false so a drop is still reported as a
            // drop.
            controller.abort(READER_STOPPED);
          }
        }
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
      drain() {
        drainRequested = true;
      },
    };
  } catch (error) {
    detach();
    throw networkErrorOf(error, { aborted });
  }
}
