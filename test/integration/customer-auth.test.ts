import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../harness/app.js';
import { useTestApp } from '../harness/setup.js';
import { enrolledAdmin, totpAt } from '../harness/console.js';
import { CUSTOMER_PASSWORD, CustomerClient, lastMail, setSignupMode, signedUpUser } from '../harness/customer-console.js';

/**
 * Customer accounts over real HTTP (issue 12, SEMANTICS §10 applied to customers): the `__Host-gr_customer` cookie
 * and pre-session, the three signup modes, verification and the sign-up test credits (once per normalised email),
 * uniform failures, lockout, CSRF, separation from the operator console and `/v1`, the sign-up throttle, password
 * reset, TOTP, and mail through a real SMTP sink on loopback (SMTP_URL) or the outbox (no SMTP_URL).
 */
const ctx = useTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32', SIGNUP_TEST_CREDITS: '50000' } });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const withoutRequestId = (body: any) => ({ ...body, error: { ...body.error, request_id: null } });
let ipCounter = 0;
const nextIp = () => `198.51.100.${(ipCounter += 1)}`;

async function testBalance(customerId: string): Promise<number> {
  const response = await ctx.app.request('GET', `/api/public/customers/${customerId}/credits?mode=test`, { operator: true });
  expect(response.status, response.text).toBe(200);
  return response.body.balance;
}

async function signUp(email: string, body: Record<string, unknown> = {}, ip = nextIp()) {
  const client = new CustomerClient(ctx.app);
  const headers = { 'x-forwarded-for': ip };
  await client.request('GET', '/console/api/auth/session', { headers });
  const response = await client.request('POST', '/console/api/auth/signup', { body: { email, password: CUSTOMER_PASSWORD, ...body }, headers });
  return { client, response };
}

describe('customer session cookie (A6, A7, A12)', () => {
  it('sets exactly the A6 cookie under its own name; only the SHA-256 is stored; console headers; the state machine steps', async () => {
    const client = new CustomerClient(ctx.app);
    const first = await client.session();
    expect(first.status).toBe(200);
    expect(first.headers.get('set-cookie')).toMatch(/^__Host-gr_customer=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    expect(first.body).toMatchObject({ state: 'anonymous', user: null, customer: null, signup_mode: 'invite', csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(first.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'");
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('referrer-policy')).toBe('same-origin');
    expect(first.headers.get('vary')).toBe('Origin, Sec-Fetch-Site');
    const rows = (await ctx.app.deps.db.query('SELECT * FROM customer_sessions WHERE id_hash = $1', [sha256(client.cookie!)])).rows;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(client.cookie);
    // Not an admin session: the operator console's table never sees it.
    expect((await ctx.app.deps.db.query('SELECT 1 FROM admin_sessions WHERE id_hash = $1', [sha256(client.cookie!)])).rows).toHaveLength(0);

    const user = await signedUpUser(ctx.app);
    const before = user.client.cookie;
    const login = await user.client.login(user.email.toUpperCase());
    expect(login.status, login.text).toBe(200);
    expect(login.body).toEqual({ state: 'authenticated', csrf_token: expect.any(String) });
    expect(user.client.cookie).not.toBe(before);
    const session = await user.client.session();
    expect(session.body).toMatchObject({ state: 'authenticated', user: { id: user.userId, email: user.email, role: 'owner', email_verified: true, totp_enabled: false }, customer: { id: user.customerId } });
    expect(new Date(session.body.idle_expires_at).getTime() - ctx.app.clock.now().getTime()).toBe(30 * 60_000);
    // Logout deletes the session server-side.
    const cookie = user.client.cookie!;
    expect((await user.client.request('POST', '/console/api/auth/logout')).status).toBe(204);
    expect(user.client.lastSetCookie).toMatch(/Max-Age=0/);
    user.client.cookie = cookie;
    expect((await user.client.request('GET', '/console/api/keys')).status).toBe(401);
  });

  it('idle timeout 30 min on the injected clock', async () => {
    const user = await signedUpUser(ctx.app);
    expect((await user.client.request('GET', '/console/api/keys')).status).toBe(200);
    ctx.app.clock.advance(30 * 60_000 + 1000);
    const expired = await user.client.request('GET', '/console/api/keys');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('unauthenticated');
  });
});

describe('sign-up modes and the test credits', () => {
  it('closed and invite refuse a sign-up without an invitation (403 signup_closed); open creates a customer with an unverified owner', async () => {
    await setSignupMode(ctx.app, 'closed');
    const closed = await signUp('closed@example.com');
    expect(closed.response.status).toBe(403);
    expect(closed.response.body.error).toMatchObject({ code: 'signup_closed', message: 'Sign-up is closed' });
    await setSignupMode(ctx.app, 'invite');
    const invite = await signUp('invite@example.com');
    expect(invite.response.status).toBe(403);
    expect(invite.response.body.error.code).toBe('signup_closed');
    expect((await ctx.app.deps.db.query("SELECT 1 FROM customer_users WHERE email IN ('closed@example.com', 'invite@example.com')")).rows).toHaveLength(0);

    await setSignupMode(ctx.app, 'open');
    const open = await signUp('Open.Person@example.com', { name: 'Open Ltd' });
    expect(open.response.status, open.response.text).toBe(201);
    expect(open.response.body).toMatchObject({ state: 'verify_email', user: { email: 'Open.Person@example.com', role: 'owner', email_verified: false }, customer: { name: 'Open Ltd' } });
    const customerId = open.response.body.customer.id;
    const customer = await ctx.app.request('GET', `/api/public/customers/${customerId}`, { operator: true });
    expect(customer.body).toMatchObject({ group: 'default' });
    // Nothing before verification; the live wallet stays empty.
    expect(await testBalance(customerId)).toBe(0);
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${open.response.body.user.id}`, { operator: true });
    expect(audit.body.data.map((row: any) => row.action)).toContain('customer_user.signup');
  });

  it('verification grants SIGNUP_TEST_CREDITS once per normalised email; a +tag sign-up gets none; the link is single use', async () => {
    await setSignupMode(ctx.app, 'open');
    const first = await signUp('ann@example.org');
    const mail = await lastMail(ctx.app, 'ann@example.org');
    expect(mail).toMatchObject({ kind: 'verify', subject: 'Confirm your email address' });
    expect(mail!.link).toBe(`${ctx.app.deps.config.publicBaseUrl}/console/verify#token=${mail!.token}`);
    const verified = await first.client.request('POST', '/console/api/auth/verify', { body: { token: mail!.token } });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.body).toEqual({ email_verified: true, credits_granted: 50_000 });
    expect(await testBalance(first.response.body.customer.id)).toBe(50_000);
    const again = await first.client.request('POST', '/console/api/auth/verify', { body: { token: mail!.token } });
    expect(again.status).toBe(400);
    expect(again.body.error.param).toBe('token');
    expect(await testBalance(first.response.body.customer.id)).toBe(50_000);
    const ledger = await ctx.app.request('GET', `/api/public/customers/${first.response.body.customer.id}/credits?mode=test`, { operator: true });
    expect(ledger.body.entries).toHaveLength(1);
    expect(ledger.body.entries[0]).toMatchObject({ kind: 'grant', amount: 50_000, reference: 'signup:ann@example.org' });

    const second = await signUp('Ann+promo@Example.org');
    expect(second.response.status).toBe(201);
    const secondMail = await lastMail(ctx.app, 'Ann+promo@Example.org');
    const secondVerified = await second.client.request('POST', '/console/api/auth/verify', { body: { token: secondMail!.token } });
    expect(secondVerified.body).toEqual({ email_verified: true, credits_granted: 0 });
    expect(await testBalance(second.response.body.customer.id)).toBe(0);
    const session = await second.client.session();
    expect(session.body.user.email_verified).toBe(true);
    // The same address again is taken (409 on email).
    const taken = await signUp('ANN@example.org');
    expect(taken.response.status).toBe(409);
    expect(taken.response.body.error.param).toBe('email');
  });

  it('resend replaces the link (the old one is dead) and keeps the credits due', async () => {
    await setSignupMode(ctx.app, 'open');
    const { client, response } = await signUp('resend@example.org');
    const old = await lastMail(ctx.app, 'resend@example.org');
    expect((await client.request('POST', '/console/api/auth/verify/resend')).status).toBe(202);
    const fresh = await lastMail(ctx.app, 'resend@example.org');
    expect(fresh!.token).not.toBe(old!.token);
    expect((await client.request('POST', '/console/api/auth/verify', { body: { token: old!.token } })).status).toBe(400);
    const verified = await client.request('POST', '/console/api/auth/verify', { body: { token: fresh!.token } });
    expect(verified.body.credits_granted).toBe(50_000);
    expect(await testBalance(response.body.customer.id)).toBe(50_000);
    expect((await client.request('POST', '/console/api/auth/verify/resend')).status).toBe(409);
  });

  it('invite mode: the operator\'s invitation signs up a new, verified customer (credits granted); a wrong address or a used link is refused', async () => {
    await setSignupMode(ctx.app, 'invite');
    const invited = await ctx.app.request('POST', '/api/admin/customer-invitations', { operator: true, body: { email: 'invited@example.net' } });
    expect(invited.status, invited.text).toBe(201);
    const token = new URL(invited.body.invite_url).hash.replace('#invite=', '');
    expect(invited.body.invite_url).toBe(`${ctx.app.deps.config.publicBaseUrl}/console/signup#invite=${token}`);
    expect((await lastMail(ctx.app, 'invited@example.net'))!.token).toBe(token);
    const wrong = await signUp('someone-else@example.net', { invite_token: token });
    expect(wrong.response.status).toBe(400);
    expect(wrong.response.body.error.param).toBe('email');
    const ok = await signUp('invited@example.net', { invite_token: token });
    expect(ok.response.status, ok.response.text).toBe(201);
    expect(ok.response.body).toMatchObject({ state: 'authenticated', user: { email_verified: true, role: 'owner' } });
    expect(await testBalance(ok.response.body.customer.id)).toBe(50_000);
    const reused = await signUp('invited@example.net', { invite_token: token });
    expect(reused.response.status).toBe(400);
    expect(reused.response.body.error.param).toBe('invite_token');
    // The outbox lists it for the operator, newest first, also under /admin/api.
    const outbox = await ctx.app.request('GET', '/api/admin/mail-outbox?limit=1', { operator: true });
    expect(outbox.body.data[0]).toMatchObject({ to: 'invited@example.net', kind: 'invitation', link: invited.body.invite_url });
    expect(outbox.body.has_more).toBe(true);
    expect((await ctx.app.request('GET', '/api/admin/mail-outbox?after=x', { operator: true })).body.error.param).toBe('after');
    expect((await ctx.app.request('POST', '/api/admin/customer-invitations', { operator: true, body: { email: 'not-an-email' } })).body.error.param).toBe('email');
    expect((await ctx.app.request('POST', '/api/admin/customer-invitations', { operator: true, body: { email: 'x@example.net', customer_id: 'cus_0000000000000000000000' } })).status).toBe(404);
  });

  it('sign-up is throttled per client address: the 6th in an hour is 429 with Retry-After', async () => {
    await setSignupMode(ctx.app, 'open');
    const ip = nextIp();
    for (let index = 0; index < 5; index += 1) expect((await signUp(`burst${index}@example.com`, {}, ip)).response.status).toBe(201);
    const sixth = await signUp('burst5@example.com', {}, ip);
    expect(sixth.response.status).toBe(429);
    expect(sixth.response.body.error.code).toBe('too_many_attempts');
    expect(Number(sixth.response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await signUp('burst5@example.com', {}, nextIp())).response.status).toBe(201);
    ctx.app.clock.advance(3_600_000);
    expect((await signUp('burst6@example.com', {}, ip)).response.status).toBe(201);
  });

  it('invalid input is 400 with param', async () => {
    await setSignupMode(ctx.app, 'open');
    expect((await signUp('no-at-sign')).response.body.error.param).toBe('email');
    expect((await signUp('short@example.com', { password: 'short' })).response.body.error.param).toBe('password');
    expect((await signUp('extra@example.com', { admin: true })).response.body.error).toMatchObject({ code: 'unknown_parameter', param: 'admin' });
  });
});

describe('sign-in failures, lockout and CSRF', () => {
  it('an unknown email and a wrong password get the same 401; 5 failures lock (email, IP) with 429 + Retry-After', async () => {
    const user = await signedUpUser(ctx.app);
    const ip = nextIp();
    const attempt = async (email: string, password: string) => {
      const client = new CustomerClient(ctx.app);
      await client.request('GET', '/console/api/auth/session', { headers: { 'x-forwarded-for': ip } });
      return client.request('POST', '/console/api/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });
    };
    const unknown = await attempt('nobody@example.com', 'wrong password here');
    const wrong = await attempt(user.email, 'wrong password here');
    expect(unknown.status).toBe(401);
    expect(withoutRequestId(unknown.body)).toEqual(withoutRequestId(wrong.body));
    for (let index = 0; index < 4; index += 1) expect((await attempt(user.email, 'wrong password here')).status).toBe(401);
    const locked = await attempt(user.email, CUSTOMER_PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    const events = (await ctx.app.deps.db.query("SELECT * FROM security_events WHERE kind = 'customer_login_locked' AND account_key = $1", [user.email])).rows;
    expect(events.length).toBeGreaterThan(0);
    // Another address is not locked; the lock ends.
    expect((await new CustomerClient(ctx.app).login(user.email)).status).toBe(200);
    ctx.app.clock.advance(2000);
    expect((await attempt(user.email, CUSTOMER_PASSWORD)).status).toBe(200);
  });

  it('a POST without the CSRF token, with a cross-site Sec-Fetch-Site or a foreign Origin is 403 csrf_failed', async () => {
    const user = await signedUpUser(ctx.app);
    const body = { name: 'k', mode: 'test' };
    const cases: any[] = [
      { csrf: false },
      { headers: { 'sec-fetch-site': 'cross-site' } },
      { sameOrigin: false, headers: { origin: 'https://evil.example' } },
      { sameOrigin: false },
    ];
    for (const options of cases) {
      const response = await user.client.request('POST', '/console/api/keys', { body, ...options });
      expect(response.status, JSON.stringify(options)).toBe(403);
      expect(response.body.error.code).toBe('csrf_failed');
    }
    const origin = new URL(ctx.app.deps.config.publicBaseUrl).origin;
    expect((await user.client.request('POST', '/console/api/keys', { body, sameOrigin: false, headers: { origin } })).status).toBe(201);
  });

  it('a customer session never acts as an admin, and /v1 ignores cookies', async () => {
    const user = await signedUpUser(ctx.app);
    const asCustomerCookie = await user.client.request('GET', '/admin/api/public/customers');
    expect(asCustomerCookie.status).toBe(401);
    expect(asCustomerCookie.body.error.code).toBe('unauthenticated');
    const asAdminCookie = await ctx.app.request('GET', '/admin/api/auth/session', { headers: { cookie: `__Host-gr_session=${user.client.cookie}` } });
    expect(asAdminCookie.body).toMatchObject({ state: 'anonymous', admin: null });
    const v1 = await user.client.request('GET', '/v1/models');
    expect(v1.status).toBe(401);
    expect(v1.body.error.code).toBe('invalid_api_key');
    expect((await user.client.request('GET', '/api/v1/auth/api-keys')).status).toBe(401);
    expect((await user.client.request('GET', '/api/admin/mail-outbox')).status).toBe(401);
  });

  it('the mail outbox holds live links: console viewers get 403, operators read it', async () => {
    const viewer = await enrolledAdmin(ctx.app, 'viewer');
    const refused = await viewer.client.request('GET', '/admin/api/admin/mail-outbox');
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    const operator = await enrolledAdmin(ctx.app, 'operator');
    expect((await operator.client.request('GET', '/admin/api/admin/mail-outbox')).status).toBe(200);
  });
});

describe('password reset, password change and TOTP', () => {
  it('reset answers 202 for any address; the 1-hour link sets the password once and revokes every session', async () => {
    const user = await signedUpUser(ctx.app);
    const anonymous = new CustomerClient(ctx.app);
    await anonymous.session();
    const unknown = await anonymous.request('POST', '/console/api/auth/password-reset', { body: { email: 'ghost@example.com' } });
    const known = await anonymous.request('POST', '/console/api/auth/password-reset', { body: { email: user.email } });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    expect(await lastMail(ctx.app, 'ghost@example.com')).toBeNull();
    const mail = await lastMail(ctx.app, user.email);
    expect(mail).toMatchObject({ kind: 'reset' });
    expect(mail!.link).toContain('/console/reset#token=');
    const weak = await anonymous.request('POST', '/console/api/auth/password-reset/confirm', { body: { token: mail!.token, password: 'short' } });
    expect(weak.body.error.param).toBe('password');
    const newPassword = 'a brand new long password';
    expect((await anonymous.request('POST', '/console/api/auth/password-reset/confirm', { body: { token: mail!.token, password: newPassword } })).status).toBe(204);
    expect((await user.client.request('GET', '/console/api/keys')).status).toBe(401);
    expect((await anonymous.request('POST', '/console/api/auth/password-reset/confirm', { body: { token: mail!.token, password: newPassword } })).status).toBe(400);
    expect((await new CustomerClient(ctx.app).login(user.email)).status).toBe(401);
    expect((await new CustomerClient(ctx.app).login(user.email, newPassword)).status).toBe(200);
    // An expired link.
    await anonymous.request('POST', '/console/api/auth/password-reset', { body: { email: user.email } });
    const late = await lastMail(ctx.app, user.email);
    ctx.app.clock.advance(3_600_000 + 1000);
    await anonymous.session();
    expect((await anonymous.request('POST', '/console/api/auth/password-reset/confirm', { body: { token: late!.token, password: newPassword } })).status).toBe(400);
  });

  it('password change checks the current one (400 on current_password) and revokes other sessions', async () => {
    const user = await signedUpUser(ctx.app);
    const other = new CustomerClient(ctx.app);
    expect((await other.login(user.email)).status).toBe(200);
    const wrong = await user.client.request('POST', '/console/api/account/password', { body: { current_password: 'not it at all', new_password: 'another long password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.param).toBe('current_password');
    const changed = await user.client.request('POST', '/console/api/account/password', { body: { current_password: CUSTOMER_PASSWORD, new_password: 'another long password' } });
    expect(changed.status, changed.text).toBe(200);
    expect((await user.client.request('GET', '/console/api/keys')).status).toBe(200);
    expect((await other.request('GET', '/console/api/keys')).status).toBe(401);
  });

  it('TOTP: enabled after one valid code; sign-in then needs the code (replay refused) or a recovery code; disabling needs the password', async () => {
    const user = await signedUpUser(ctx.app);
    const start = await user.client.request('POST', '/console/api/account/totp/start');
    expect(start.status, start.text).toBe(200);
    expect(start.body.otpauth_uri).toContain('otpauth://totp/');
    expect(start.body.qr_svg).toContain('<svg');
    expect((await user.client.request('POST', '/console/api/account/totp/confirm', { body: { code: '000000' } })).body.error.param).toBe('code');
    const confirmed = await user.client.request('POST', '/console/api/account/totp/confirm', { body: { code: totpAt(start.body.secret, ctx.app.clock.now()) } });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body.recovery_codes).toHaveLength(10);

    const client = new CustomerClient(ctx.app);
    const login = await client.login(user.email);
    expect(login.body.state).toBe('mfa_pending');
    expect((await client.request('GET', '/console/api/keys')).status).toBe(401);
    ctx.app.clock.advance(30_000);
    const code = totpAt(start.body.secret, ctx.app.clock.now());
    const second = await client.request('POST', '/console/api/auth/totp', { body: { code } });
    expect(second.status, second.text).toBe(200);
    expect(second.body.user.totp_enabled).toBe(true);
    const replay = new CustomerClient(ctx.app);
    await replay.login(user.email);
    expect((await replay.request('POST', '/console/api/auth/totp', { body: { code } })).status).toBe(401);
    const recovery = await replay.request('POST', '/console/api/auth/totp', { body: { recovery_code: confirmed.body.recovery_codes[0] } });
    expect(recovery.status).toBe(200);

    expect((await client.request('DELETE', '/console/api/account/totp', { body: { password: 'wrong password here' } })).body.error.param).toBe('password');
    expect((await client.request('DELETE', '/console/api/account/totp', { body: { password: CUSTOMER_PASSWORD } })).status).toBe(200);
    expect((await new CustomerClient(ctx.app).login(user.email)).body.state).toBe('authenticated');
  });
});

describe('mail transports', () => {
  const received: Array<{ to: string; text: string }> = [];
  let sink: SMTPServer | null = null;
  afterAll(async () => {
    await new Promise<void>((resolve) => (sink ? sink.close(() => resolve()) : resolve()));
  });

  it('with SMTP_URL the verification mail is delivered to a local SMTP server (and not kept in the outbox)', async () => {
    sink = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address).join(','), text: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => sink!.listen(0, '127.0.0.1', resolve));
    const port = (sink.server.address() as AddressInfo).port;
    const app = await startTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Relay <relay@example.com>' } });
    try {
      await setSignupMode(app, 'open');
      const client = new CustomerClient(app);
      await client.session();
      const signup = await client.request('POST', '/console/api/auth/signup', { body: { email: 'smtp@example.com', password: CUSTOMER_PASSWORD } });
      expect(signup.status, signup.text).toBe(201);
      expect(received).toHaveLength(1);
      expect(received[0]!.to).toBe('smtp@example.com');
      expect(received[0]!.text).toMatch(/^From: Relay <relay@example\.com>/m);
      const token = /\/console\/verify#token=([A-Za-z0-9_-]{43})/.exec(received[0]!.text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))))?.[1];
      expect(token).toBeDefined();
      const verified = await client.request('POST', '/console/api/auth/verify', { body: { token } });
      expect(verified.body).toEqual({ email_verified: true, credits_granted: 50_000 });
      expect((await app.deps.db.query('SELECT 1 FROM mail_outbox')).rows).toHaveLength(0);
    } finally {
      await app.close();
    }
  });
});
