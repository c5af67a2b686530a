import { Secret, TOTP } from 'otpauth';
import { createAdminWithLink } from '../../src/workflows/admins.js';
import type { AdminRole } from '../../src/modules/admin-auth/admins.js';
import type { TestApp, TestResponse } from './app.js';

/**
 * A browser-like client of the operator console for tests: it keeps the `__Host-gr_session` cookie and the CSRF
 * token the server last handed out, and sends `Sec-Fetch-Site: same-origin` like a browser on the console's origin
 * (override any header per request). TOTP codes are computed here from the enrolled secret, at the app's clock.
 */
export const TEST_PASSWORD = 'correct horse battery staple';

export interface ConsoleRequest {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the CSRF token (default true). */
  csrf?: boolean;
  /** Send `Sec-Fetch-Site: same-origin` (default true). */
  sameOrigin?: boolean;
}

export function totpAt(secret: string, at: Date): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: at.getTime() });
}

export class ConsoleClient {
  cookie: string | null = null;
  csrf: string | null = null;
  lastSetCookie: string | null = null;

  constructor(private readonly app: TestApp) {}

  async request<T = any>(method: string, path: string, options: ConsoleRequest = {}): Promise<TestResponse<T>> {
    const headers: Record<string, string> = {};
    if (options.sameOrigin !== false) headers['sec-fetch-site'] = 'same-origin';
    if (options.csrf !== false && this.csrf) headers['x-csrf-token'] = this.csrf;
    if (this.cookie) headers.cookie = `__Host-gr_session=${this.cookie}`;
    Object.assign(headers, options.headers);
    const response = await this.app.request<T>(method, path, { headers, ...(options.body !== undefined ? { body: options.body } : {}) });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) {
      this.lastSetCookie = setCookie;
      const value = /^__Host-gr_session=([^;]*)/.exec(setCookie)?.[1] ?? '';
      this.cookie = value === '' ? null : value;
    }
    const body = response.body as { csrf_token?: unknown } | null;
    if (body && typeof body === 'object' && typeof body.csrf_token === 'string') this.csrf = body.csrf_token;
    return response;
  }

  /** GET /admin/api/auth/session (opens the pre-session on the first call). */
  session(): Promise<TestResponse> {
    return this.request('GET', '/admin/api/auth/session');
  }

  async login(email: string, password: string, secret: string): Promise<TestResponse> {
    if (!this.csrf) await this.session();
    const first = await this.request('POST', '/admin/api/auth/login', { body: { email, password } });
    if (first.status !== 200) throw new Error(`login failed: ${first.status} ${first.text}`);
    // A fresh step each time: the last used step is remembered (A4).
    this.app.clock.advance(30_000);
    const second = await this.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(secret, this.app.clock.now()) } });
    if (second.status !== 200) throw new Error(`totp failed: ${second.status} ${second.text}`);
    return second;
  }
}

export interface EnrolledAdmin {
  id: string;
  email: string;
  role: AdminRole;
  secret: string;
  password: string;
  recoveryCodes: string[];
  /** Signed in by the enrollment. */
  client: ConsoleClient;
}

let counter = 0;

/** A new admin created as the CLI does, enrolled through the HTTP routes (start, finish), signed in. */
export async function enrolledAdmin(app: TestApp, role: AdminRole = 'owner', email?: string): Promise<EnrolledAdmin> {
  counter += 1;
  const address = email ?? `${role}-${process.pid}-${counter}@example.com`;
  const created = await createAdminWithLink(app.deps, { email: address, role });
  const token = new URL(created.url).hash.replace(/^#token=/, '');
  const client = new ConsoleClient(app);
  await client.session();
  const start = await client.request('POST', '/admin/api/auth/enroll/start', { body: { token } });
  if (start.status !== 200) throw new Error(`enroll/start failed: ${start.status} ${start.text}`);
  const finish = await client.request('POST', '/admin/api/auth/enroll/finish', {
    body: { token, password: TEST_PASSWORD, code: totpAt(start.body.secret, app.clock.now()) },
  });
  if (finish.status !== 200) throw new Error(`enroll/finish failed: ${finish.status} ${finish.text}`);
  return { id: created.admin.id, email: address, role, secret: start.body.secret, password: TEST_PASSWORD, recoveryCodes: finish.body.recovery_codes, client };
}
