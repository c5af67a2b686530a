import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import {
  checkUrl,
  createConnector,
  describeRefused,
  FetchFailed,
  isPublicAddress,
  TrustList,
  unbracket,
  UrlRejected,
  type CheckedUrl,
  type Connector,
  type ResolvedAddress,
  type Resolver,
  type UrlRules,
} from './url-policy.js';

/**
 * safeFetch (SEMANTICS S1): the one client for URLs that come from customers or from provider response bodies. The
 * rules of what may be reached (static and connect-time) live in url-policy.ts; this module runs the transfer:
 * pre-flight resolution (S6), manual redirects (S7), limits and media sniffing (S8).
 */
export {
  addressDenial,
  createGuardedLookup,
  DENIED_RANGES,
  FetchFailed,
  isPublicAddress,
  UrlRejected,
  type ConnectOptions,
  type Connector,
  type FetchFailure,
  type ResolvedAddress,
  type Resolver,
  type UrlRejectReason,
} from './url-policy.js';

export type FetchPurpose = 'media' | 'webhook';
export type MediaFamily = 'image' | 'video' | 'audio';

export interface SafeFetchOptions {
  allowHttpMedia: boolean;
  /** SAFE_FETCH_TRUSTED_HOSTS (S11): names or IP literals, optional `:port`. */
  trustedHosts: string[];
  deniedHosts?: string[];
  allowedPorts?: number[];
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  mediaTimeoutMs?: number;
  webhookTimeoutMs?: number;
  maxBytes?: Partial<Record<MediaFamily, number>>;
  /** Injected for tests: resolves a host name to addresses (default: dns.promises.lookup all:true). */
  resolve?: Resolver;
  /** Injected for tests: replaces both agents; static and pre-flight checks still run, the connect-time check does not. */
  dispatcher?: Dispatcher;
  /** Injected for tests: opens sockets in place of undici's TCP/TLS connector, under the guard, using `options.lookup`. */
  connector?: Connector;
}

export interface SafeFetch {
  /** Static checks only (S2, S3, IP literals) — used at submission time; throws UrlRejected. */
  validateUrl(url: string, purpose: FetchPurpose): URL;
  /** Worker-side media download with all checks; returns bytes + sniffed content type. */
  fetchMedia(
    url: string,
    family: MediaFamily,
    callOptions?: { extraTrustedOrigins?: string[]; maxBytes?: number },
  ): Promise<{ bytes: Buffer; contentType: string; finalUrl: string }>;
  /** POST a webhook/callback body without following redirects; any status (3xx included) is returned, not thrown. */
  postWebhook(
    url: string,
    body: string | Buffer,
    headers: Record<string, string>,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const DEFAULT_MAX_BYTES: Record<MediaFamily, number> = { image: 20 * MiB, audio: 50 * MiB, video: 200 * MiB };
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Bodies we do not want (redirects, webhook replies) are drained up to this much so the connection can be reused. */
const DISCARD_LIMIT = 64 * 1024;

async function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  const records = await dnsLookup(hostname, { all: true });
  return records.map((record) => ({ address: record.address, family: record.family === 6 ? 6 : 4 }));
}

/** One timer for the whole transfer (S8), redirects included; its abort reason is already the error to report. */
function startDeadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new FetchFailed('timeout', `transfer exceeded ${ms} ms`)), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

function raceDeadline<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Callers (the worker, the delivery loop) branch on two error classes only, so everything else is folded in here. */
function toFailure(error: unknown, signal: AbortSignal): Error {
  if (error instanceof FetchFailed || error instanceof UrlRejected) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof FetchFailed) return cause;
  if (signal.aborted) return new FetchFailed('timeout', 'transfer timed out');
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return new FetchFailed('timeout', (error as Error).message);
  return new FetchFailed('network', error instanceof Error ? error.message : String(error));
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** S8: the declared type only has to name the family; the bytes decide the exact type we report. */
export function sniffMedia(bytes: Buffer, family: MediaFamily): string | null {
  const ascii = (start: number, end: number) => bytes.toString('latin1', start, end);
  const startsWith = (signature: number[]) => signature.every((byte, index) => bytes[index] === byte);
  const box = ascii(4, 8);
  if (family === 'image') {
    if (startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
    if (startsWith([0xff, 0xd8, 0xff])) return 'image/jpeg';
    if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'image/gif';
    if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
    return null;
  }
  if (family === 'video') {
    if (box === 'ftyp') return ascii(8, 12) === 'qt  ' ? 'video/quicktime' : 'video/mp4';
    // Old QuickTime files start with a top-level atom other than ftyp.
    if (['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'].includes(box)) return 'video/quicktime';
    if (startsWith([0x1a, 0x45, 0xdf, 0xa3])) return bytes.subarray(0, 64).includes('webm') ? 'video/webm' : 'video/x-matroska';
    return null;
  }
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'audio/wav';
  if (ascii(0, 3) === 'ID3') return 'audio/mpeg';
  // MPEG audio frame sync (11 set bits); layer bits 00 would be AAC ADTS, which is not MP3.
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && (bytes[1]! & 0x06) !== 0) return 'audio/mpeg';
  if (ascii(0, 4) === 'OggS') return 'audio/ogg';
  if (ascii(0, 4) === 'fLaC') return 'audio/flac';
  if (box === 'ftyp') return 'audio/mp4';
  return null;
}

async function discard(response: Dispatcher.ResponseData): Promise<void> {
  await response.body.dump({ limit: DISCARD_LIMIT }).catch(() => {});
}

/** Drops a body we refuse; destroying a readable emits an error that nobody else is listening for. */
function abandon(response: Dispatcher.ResponseData): void {
  response.body.on('error', () => {}).destroy();
}

async function readMedia(response: Dispatcher.ResponseData, family: MediaFamily, cap: number) {
  const declaredType = (firstHeader(response.headers['content-type']) ?? '').split(';')[0]!.trim().toLowerCase();
  if (!declaredType.startsWith(`${family}/`)) {
    abandon(response);
    throw new FetchFailed('bad_content_type', `Content-Type "${declaredType}" is not ${family}/*`);
  }
  const declaredLength = Number(firstHeader(response.headers['content-length']) ?? Number.NaN);
  if (declaredLength > cap) {
    abandon(response);
    throw new FetchFailed('too_large', `Content-Length ${declaredLength} exceeds ${cap} bytes`);
  }
  // The streamed count is what counts: Content-Length may be absent (chunked, read-until-close).
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > cap) {
      abandon(response);
      throw new FetchFailed('too_large', `body exceeds ${cap} bytes`);
    }
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks, total);
  const contentType = sniffMedia(bytes, family);
  if (!contentType) throw new FetchFailed('bad_content_type', `body of declared type ${declaredType} is not recognisable ${family}`);
  return { bytes, contentType };
}

export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  const rules: UrlRules = {
    allowHttpMedia: options.allowHttpMedia,
    deniedHosts: options.deniedHosts ?? [],
    allowedPorts: options.allowedPorts ?? [],
  };
  const trust = new TrustList(options.trustedHosts);
  const resolve = options.resolve ?? systemResolve;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const mediaTimeoutMs = options.mediaTimeoutMs ?? 60_000;
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 15_000;
  const caps = { ...DEFAULT_MAX_BYTES, ...options.maxBytes };

  // Two pools, so a connection opened for a trusted origin is never reused by an untrusted request (or vice versa).
  const agent = (guarded: boolean) =>
    new Agent({ connect: createConnector(guarded, resolve, connectTimeoutMs, options.connector), headersTimeout: headersTimeoutMs });
  const guardedDispatcher = options.dispatcher ?? agent(true);
  const trustedDispatcher = options.dispatcher ?? agent(false);

  /** S5/S6 before the request: the literal again, or every record of the name, unless the host is trusted. */
  async function vetHost({ url, trusted }: CheckedUrl, signal: AbortSignal): Promise<void> {
    if (trusted) return;
    const host = unbracket(url.hostname);
    if (isIP(host) !== 0) {
      if (!isPublicAddress(host)) throw new FetchFailed('blocked_address', `address ${describeRefused(host)} is not a public address`);
      return;
    }
    const records = await raceDeadline(resolve(host), signal);
    if (records.length === 0) throw new FetchFailed('network', `${host} has no address`);
    const rejected = records.find((record) => !isPublicAddress(record.address));
    if (rejected) throw new FetchFailed('blocked_address', `${host} resolves to non-public ${describeRefused(rejected.address)}`);
  }

  async function send(
    checked: CheckedUrl,
    request: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string | Buffer },
    transferMs: number,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    await vetHost(checked, signal);
    const dispatcher = checked.trusted ? trustedDispatcher : guardedDispatcher;
    // undici 7's request never follows redirects unless a redirect interceptor is composed in, which we never do:
    // that is `redirect: manual`, and every Location is re-validated by the caller.
    return dispatcher.request({
      origin: checked.url.origin,
      path: `${checked.url.pathname}${checked.url.search}`,
      method: request.method,
      headers: request.headers,
      body: request.body ?? null,
      signal,
      headersTimeout: Math.min(headersTimeoutMs, transferMs),
      bodyTimeout: transferMs,
    });
  }

  return {
    validateUrl(url, purpose) {
      return checkUrl(url, purpose, rules, trust).url;
    },

    async fetchMedia(url, family, callOptions = {}) {
      const callTrust = trust.withOrigins(callOptions.extraTrustedOrigins);
      const cap = Math.min(callOptions.maxBytes ?? Number.POSITIVE_INFINITY, caps[family]);
      const deadline = startDeadline(mediaTimeoutMs);
      try {
        let checked = checkUrl(url, 'media', rules, callTrust);
        for (let hop = 0; ; hop += 1) {
          const headers = { accept: `${family}/*`, 'accept-encoding': 'identity' };
          const response = await send(checked, { method: 'GET', headers }, mediaTimeoutMs, deadline.signal);
          const status = response.statusCode;
          if (REDIRECT_STATUSES.has(status)) {
            await discard(response);
            const location = firstHeader(response.headers.location);
            if (!location) throw new FetchFailed('bad_status', `redirect ${status} without Location`, status);
            if (hop >= MAX_REDIRECTS) throw new FetchFailed('too_many_redirects', `more than ${MAX_REDIRECTS} redirects`, status);
            // Each hop starts again from S2; a hop that fails a static rule is reported as a blocked redirect.
            try {
              checked = checkUrl(new URL(location, checked.url).href, 'media', rules, callTrust);
            } catch (error) {
              throw new FetchFailed('redirect_blocked', `redirect refused: ${(error as Error).message}`, status);
            }
            continue;
          }
          if (status < 200 || status > 299) {
            await discard(response);
            throw new FetchFailed('bad_status', `unexpected status ${status}`, status);
          }
          const media = await readMedia(response, family, cap);
          return { ...media, finalUrl: checked.url.href };
        }
      } catch (error) {
        throw toFailure(error, deadline.signal);
      } finally {
        deadline.clear();
      }
    },

    async postWebhook(url, body, headers) {
      const checked = checkUrl(url, 'webhook', rules, trust);
      const hasType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
      const requestHeaders = hasType ? headers : { ...headers, 'content-type': 'application/json' };
      const deadline = startDeadline(webhookTimeoutMs);
      try {
        const response = await send(checked, { method: 'POST', headers: requestHeaders, body }, webhookTimeoutMs, deadline.signal);
        // H8: the status alone decides delivery; a 3xx is a failure for the caller and its Location is never requested.
        await discard(response);
        return { status: response.statusCode, headers: response.headers };
      } catch (error) {
        throw toFailure(error, deadline.signal);
      } finally {
        deadline.clear();
      }
    },

    async close() {
      // An injected dispatcher belongs to the caller.
      if (options.dispatcher) return;
      await Promise.all([guardedDispatcher.close(), trustedDispatcher.close()]);
    },
  };
}
