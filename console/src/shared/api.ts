/**
 * The JSON client every console page uses. One instance per app, configured once in the app's main.tsx:
 *
 *   configureApi({ base: '/admin/api', signInPath: '/admin/login' })
 *
 * - `credentials: 'same-origin'`: the session is the `__Host-gr_session` cookie (HttpOnly; never read here).
 * - The CSRF token comes from `GET {base}/auth/session` and is sent as `X-CSRF-Token` on every non-GET request.
 *   Anything that starts or changes a session (login, TOTP, enrollment) hands back a new token: pass it to
 *   `setCsrfToken`. A 403 `csrf_failed` (the session rotated in another tab) reloads the token and retries once.
 * - Errors: every non-2xx answer becomes an `ApiError` carrying the server's `{error: {code, message, param,
 *   request_id}}` (and `Retry-After` on 429). A 401 `unauthenticated` sends the browser to the sign-in page.
 */

export interface ApiErrorBody {
  error?: { type?: string; code?: string; message?: string; param?: string | null; request_id?: string };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | null;
  readonly requestId: string | null;
  /** Seconds from `Retry-After`, when the server sent one (429). */
  readonly retryAfter: number | null;

  constructor(status: number, body: ApiErrorBody | null, headers?: Headers) {
    const error = body?.error;
    super(error?.message ?? (status === 0 ? 'The server could not be reached.' : `Request failed (HTTP ${status}).`));
    this.name = 'ApiError';
    this.status = status;
    this.code = error?.code ?? (status === 0 ? 'network_error' : 'http_error');
    this.param = error?.param ?? null;
    this.requestId = error?.request_id ?? headers?.get('x-request-id') ?? null;
    const retry = headers?.get('retry-after');
    this.retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

interface ApiConfig {
  /** Prefix of every JSON route, e.g. `/admin/api`. */
  base: string;
  /** Full path of the sign-in page; 401 `unauthenticated` goes there with `?next=` the current location. */
  signInPath: string;
  /** Paths (below the app's base) where a 401 must not redirect, e.g. the sign-in page itself. */
  publicPaths: string[];
}

const config: ApiConfig = { base: '/admin/api', signInPath: '/admin/login', publicPaths: [] };
let csrfToken: string | null = null;
let sessionLoader: (() => Promise<unknown>) | null = null;
let redirectPaused = false;

export function configureApi(options: Partial<ApiConfig>): void {
  Object.assign(config, options);
}

export function apiBase(): string {
  return config.base;
}

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/**
 * While signing out, a 401 of a page still on screen must not send the browser to the sign-in page by itself (with a
 * `?next=` back to that page): the new anonymous session routes there. The SessionProvider pauses it meanwhile.
 */
export function pauseSignInRedirect(paused: boolean): void {
  redirectPaused = paused;
}

/** Registers what reloads the session (and with it the CSRF token); the SessionProvider does this. */
export function setSessionLoader(loader: () => Promise<unknown>): void {
  sessionLoader = loader;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=x` from the defined, non-empty values of `query` (or ''). */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Do not redirect to the sign-in page on 401 (the auth routes handle their own 401s). */
  noRedirect?: boolean;
}

/** Calls `{base}{path}` and answers the parsed JSON (undefined for 204). Throws `ApiError`. */
export async function apiRequest<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  if (method !== 'GET' && csrfToken === null && sessionLoader) await sessionLoader();
  try {
    return await send<T>(method, path, options);
  } catch (error) {
    if (isApiError(error) && error.code === 'csrf_failed' && sessionLoader) {
      const before = csrfToken;
      await sessionLoader();
      if (csrfToken !== before) return send<T>(method, path, options);
    }
    throw error;
  }
}

async function send<T>(method: Method, path: string, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`${config.base}${path}${queryString(options.query)}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, null);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed as ApiErrorBody | null, response.headers);
    if (response.status === 401 && error.code === 'unauthenticated' && !options.noRedirect) redirectToSignIn();
    throw error;
  }
  return parsed as T;
}

function redirectToSignIn(): void {
  if (redirectPaused) return;
  const here = window.location.pathname + window.location.search;
  if (here.startsWith(config.signInPath) || config.publicPaths.some((path) => here.startsWith(path))) return;
  window.location.assign(`${config.signInPath}?next=${encodeURIComponent(here)}`);
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => apiRequest<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown) => apiRequest<T>('POST', path, { body: body ?? {} }),
  patch: <T>(path: string, body: unknown) => apiRequest<T>('PATCH', path, { body }),
  delete: <T>(path: string) => apiRequest<T>('DELETE', path),
};
