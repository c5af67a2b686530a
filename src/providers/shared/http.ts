import { Agent, request, type Dispatcher } from 'undici';

/**
 * The HTTP client adapters use to call their upstream (operator-configured base URLs only; customer and result
 * URLs go through safe-fetch). It never throws on an HTTP status: adapters classify statuses themselves. A network
 * failure is reported with `sent`, so an adapter can tell "surely did not land" from "unknown" (PROVIDERS §0.4).
 */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  bytes: Buffer;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export class UpstreamNetworkError extends Error {
  constructor(
    message: string,
    /** False when the request surely never reached the upstream (connection refused, DNS, connect timeout). */
    readonly sent: boolean,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'UpstreamNetworkError';
  }
}

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | FormData;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Up to 256 connections per upstream origin. A channel's request budget sets how many calls start per second; how
 * many are open at once is that rate times their latency (1,000 status reads a second at 200 ms each keep 200 open).
 * With 64, calls beyond them queued in the pool behind slow answers: at 10,000 tasks in flight and a budget of
 * 1,000 requests a second, the last status reads waited up to 1.3 s for a connection (bench:poller, issue 14).
 */
const agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 30_000, connections: 256 });
/** Failures that happen before any byte of the request left: the request surely never reached the upstream. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A transport failure of an upstream call as an `UpstreamNetworkError`, `sent` decided by its code (start-failure.ts
 * turns that into `rejected` / `unknown`). `aborted`: the caller closed the connection itself, so whatever was sent
 * stays sent.
 */
export function networkErrorOf(error: unknown, options: { aborted?: boolean } = {}): UpstreamNetworkError {
  const failure = error as { code?: string; cause?: { code?: string }; message?: string } | null | undefined;
  const code = failure?.code ?? failure?.cause?.code ?? '';
  const timedOut = /TIMEOUT/.test(code);
  const sent = options.aborted ? true : !NOT_SENT.has(code);
  return new UpstreamNetworkError(typeof failure?.message === 'string' ? failure.message : String(error), sent, timedOut);
}

export async function upstreamRequest(options: UpstreamRequest, dispatcher: Dispatcher = agent): Promise<UpstreamResponse> {
  const timeout = options.timeoutMs ?? 60_000;
  try {
    const response = await request(options.url, {
      method: options.method,
      headers: options.headers ?? {},
      body: options.body as never,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      dispatcher,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const text = bytes.toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, bytes, json };
  } catch (error) {
    throw networkErrorOf(error);
  }
}

/** Seconds from `retry-after` / `retry-after-ms`, when present. */
export function retryAfterSeconds(headers: Record<string, string | string[] | undefined>): number | undefined {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  const milliseconds = first(headers['retry-after-ms']);
  if (milliseconds && /^\d+$/.test(milliseconds)) return Math.ceil(Number(milliseconds) / 1000);
  const seconds = first(headers['retry-after']);
  if (seconds && /^\d+(\.\d+)?$/.test(seconds)) return Math.ceil(Number(seconds));
  return undefined;
}
