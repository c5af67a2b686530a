import type { TestApp, TestResponse } from './app.js';
import type { ConsoleRequest } from './console.js';

/**
 * A browser-like client of the customer console: it keeps the `__Host-gr_customer` cookie and the last CSRF token,
 * and sends `Sec-Fetch-Site: same-origin` (override any header per request). `signedUpUser` makes a customer the way
 * a visitor does: open sign-up (switched on through the operator API), then the emailed verification link.
 */
export const CUSTOMER_PASSWORD = 'customer horse battery staple';

export class CustomerClient {
  cookie: string | null = null;
  csrf: string | null = null;
  lastSetCookie: string | null = null;

  constructor(private readonly app: TestApp) {}

  async request<T = any>(method: string, path: string, options: ConsoleRequest = {}): Promise<TestResponse<T>> {
    const headers: Record<string, string> = {};
    if (options.sameOrigin !== false) headers['sec-fetch-site'] = 'same-origin';
    if (options.csrf !== false && this.csrf) headers['x-csrf-token'] = this.csrf;
    if (this.cookie) headers.cookie = `__Host-gr_customer=${this.cookie}`;
    Object.assign(headers, options.headers);
    const response = await this.app.request<T>(method, path, { headers, ...(options.body !== undefined ? { body: options.body } : {}) });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) {
      this.lastSetCookie = setCookie;
      const value = /^__Host-gr_customer=([^;]*)/.exec(setCookie)?.[1] ?? '';
      this.cookie = value === '' ? null : value;
    }
    const body = response.body as { csrf_token?: unknown } | null;
    if (body && typeof body === 'object' && typeof body.csrf_token === 'string') this.csrf = body.csrf_token;
    return response;
  }

  session(): Promise<TestResponse> {
    return this.request('GET', '/console/api/auth/session');
  }

  async login(email: string, password = CUSTOMER_PASSWORD): Promise<TestResponse> {
    if (!this.csrf) await this.session();
    return this.request('POST', '/console/api/auth/login', { body: { email, password } });
  }
}

export async function setSignupMode(app: TestApp, mode: 'open' | 'invite' | 'closed'): Promise<void> {
  const response = await app.request('PATCH', '/api/admin/settings', { operator: true, body: { signup_mode: mode } });
  if (response.status !== 200) throw new Error(`signup mode: ${response.status} ${response.text}`);
}

/** The newest outbox mail to an address (SMTP_URL unset), with the token of its link. */
export async function lastMail(app: TestApp, to: string): Promise<{ subject: string; link: string; token: string; kind: string } | null> {
  const row = (await app.deps.db.query<{ subject: string; link: string; kind: string }>(
    'SELECT subject, link, kind FROM mail_outbox WHERE lower(recipient) = lower($1) ORDER BY id DESC LIMIT 1', [to],
  )).rows[0];
  if (!row) return null;
  return { ...row, token: new URL(row.link).hash.replace(/^#(token|invite)=/, '') };
}

let counter = 0;

export interface SignedUpUser {
  email: string;
  customerId: string;
  userId: string;
  client: CustomerClient;
}

/** A verified owner of a new customer, signed in (each from its own client address when the app trusts loopback proxies). */
export async function signedUpUser(app: TestApp, options: { email?: string; verify?: boolean } = {}): Promise<SignedUpUser> {
  counter += 1;
  const email = options.email ?? `user-${process.pid}-${counter}@example.com`;
  await setSignupMode(app, 'open');
  const client = new CustomerClient(app);
  const ip = `203.0.113.${counter % 250}`;
  await client.request('GET', '/console/api/auth/session', { headers: { 'x-forwarded-for': ip } });
  const signup = await client.request('POST', '/console/api/auth/signup', { body: { email, password: CUSTOMER_PASSWORD, name: `Team ${counter}` }, headers: { 'x-forwarded-for': ip } });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
  if (options.verify !== false) {
    const mail = await lastMail(app, email);
    const verified = await client.request('POST', '/console/api/auth/verify', { body: { token: mail!.token } });
    if (verified.status !== 200) throw new Error(`verify failed: ${verified.status} ${verified.text}`);
  }
  return { email, customerId: signup.body.customer.id, userId: signup.body.user.id, client };
}
