import { createHash } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../harness/setup.js';
import { ConsoleClient, TEST_PASSWORD, enrolledAdmin, totpAt } from '../harness/console.js';
import { createAdminWithLink } from '../../src/workflows/admins.js';

/**
 * Console sign-in over real HTTP (SEMANTICS A1–A7, A10): the cookie, the pre-session → mfa_pending → authenticated
 * steps with a new id each time, uniform failures, throttling and lockout, TOTP replay, recovery codes, and the
 * idle, absolute and mfa_pending timeouts on the injected clock. TRUSTED_PROXIES lets tests pick the client IP.
 */
const ctx = useTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32' } });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const withoutRequestId = (body: any) => ({ ...body, error: { ...body.error, request_id: null } });
let ipCounter = 0;
/** A client from its own address (X-Forwarded-For from the trusted loopback proxy). */
function fromIp(ip = `198.51.100.${(ipCounter += 1)}`): { client: ConsoleClient; headers: Record<string, string>; ip: string } {
  return { client: new ConsoleClient(ctx.app), headers: { 'x-forwarded-for': ip }, ip };
}

async function securityEvents(kind: string, account: string): Promise<any[]> {
  return (await ctx.app.deps.db.query('SELECT * FROM security_events WHERE kind = $1 AND account_key = $2 ORDER BY id', [kind, account])).rows;
}

describe('session cookie and pre-session (A6, A7, A12)', () => {
  it('sets exactly the A6 cookie; the database keeps only its SHA-256; console headers on every answer', async () => {
    const client = new ConsoleClient(ctx.app);
    const first = await client.session();
    expect(first.status).toBe(200);
    expect(first.headers.get('set-cookie')).toMatch(/^__Host-gr_session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    expect(first.body).toMatchObject({ state: 'anonymous', admin: null, csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(first.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'");
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('referrer-policy')).toBe('same-origin');
    expect(first.headers.get('vary')).toBe('Origin, Sec-Fetch-Site');
    const rows = (await ctx.app.deps.db.query<any>('SELECT * FROM admin_sessions WHERE id_hash = $1', [sha256(client.cookie!)])).rows;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(client.cookie);
    // The same session on the next call: no new cookie, the same token.
    const again = await client.session();
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(again.body.csrf_token).toBe(first.body.csrf_token);
    // A forged or unknown cookie is not a session: a new pre-session replaces it.
    client.cookie = 'A'.repeat(43);
    const forged = await client.session();
    expect(forged.headers.get('set-cookie')).toMatch(/^__Host-gr_session=/);
    expect(forged.body.csrf_token).not.toBe(first.body.csrf_token);
    // Errors carry the headers too.
    const denied = await new ConsoleClient(ctx.app).request('GET', '/admin/api/public/customers');
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('unauthenticated');
    expect(denied.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'");
    expect(denied.headers.get('vary')).toBe('Origin, Sec-Fetch-Site');
  });

  it('signs in with password then TOTP: a new session id and CSRF token at each step, the old ids dead', async () => {
    const owner = await enrolledAdmin(ctx.app);
    const client = new ConsoleClient(ctx.app);
    await client.session();
    const anonymous = { cookie: client.cookie!, csrf: client.csrf! };
    const login = await client.request('POST', '/admin/api/auth/login', { body: { email: owner.email.toUpperCase(), password: TEST_PASSWORD } });
    expect(login.status, login.text).toBe(200);
    expect(login.body).toEqual({ state: 'mfa_pending', csrf_token: expect.any(String) });
    expect(client.cookie).not.toBe(anonymous.cookie);
    expect(client.csrf).not.toBe(anonymous.csrf);
    const pending = { cookie: client.cookie!, csrf: client.csrf! };
    // Half signed in is not signed in.
    expect((await client.request('GET', '/admin/api/public/customers')).status).toBe(401);
    ctx.app.clock.advance(30_000);
    const totp = await client.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, ctx.app.clock.now()) } });
    expect(totp.status, totp.text).toBe(200);
    expect(totp.body).toEqual({ state: 'authenticated', csrf_token: expect.any(String), admin: { id: owner.id, email: owner.email, role: 'owner', totp_enrolled: true } });
    expect(client.cookie).not.toBe(pending.cookie);
    expect(client.csrf).not.toBe(pending.csrf);
    const session = await client.session();
    expect(session.body).toMatchObject({ state: 'authenticated', admin: { email: owner.email } });
    expect(new Date(session.body.absolute_expires_at).getTime() - ctx.app.clock.now().getTime()).toBe(8 * 3_600_000);
    expect(new Date(session.body.idle_expires_at).getTime() - ctx.app.clock.now().getTime()).toBe(30 * 60_000);
    expect((await client.request('GET', '/admin/api/public/customers')).status).toBe(200);
    for (const old of [anonymous.cookie, pending.cookie]) {
      expect((await ctx.app.deps.db.query('SELECT 1 FROM admin_sessions WHERE id_hash = $1', [sha256(old)])).rows).toHaveLength(0);
    }
    const admin = (await ctx.app.deps.db.query<any>('SELECT last_login_at FROM admins WHERE id = $1', [owner.id])).rows[0];
    expect(admin.last_login_at.getTime()).toBe(ctx.app.clock.now().getTime());
    // Logout deletes the session server-side and clears the cookie.
    const cookie = client.cookie!;
    const out = await client.request('POST', '/admin/api/auth/logout');
    expect(out.status).toBe(204);
    expect(client.lastSetCookie).toBe('__Host-gr_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0');
    expect((await ctx.app.deps.db.query('SELECT 1 FROM admin_sessions WHERE id_hash = $1', [sha256(cookie)])).rows).toHaveLength(0);
    client.cookie = cookie;
    expect((await client.request('GET', '/admin/api/public/customers')).status).toBe(401);
  });

  it('rehashes a password stored with older argon2 parameters at sign-in (A1)', async () => {
    const admin = await enrolledAdmin(ctx.app, 'viewer');
    const old = await hash(TEST_PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await ctx.app.deps.db.query('UPDATE admins SET password_hash = $2 WHERE id = $1', [admin.id, old]);
    const { client } = fromIp();
    await client.login(admin.email, TEST_PASSWORD, admin.secret);
    const stored = (await ctx.app.deps.db.query<any>('SELECT password_hash FROM admins WHERE id = $1', [admin.id])).rows[0].password_hash;
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});

describe('uniform failures and throttling (A2, A10)', () => {
  it('an unknown account, a wrong password, a pending and a disabled admin get the same 401 body', async () => {
    const owner = await enrolledAdmin(ctx.app);
    const pending = await createAdminWithLink(ctx.app.deps, { email: `pending-${Date.now()}@example.com`, role: 'operator' });
    const disabled = await enrolledAdmin(ctx.app, 'operator');
    await ctx.app.deps.db.query("UPDATE admins SET status = 'disabled' WHERE id = $1", [disabled.id]);
    const answers = [];
    for (const [email, password] of [
      ['nobody@example.com', TEST_PASSWORD], [owner.email, 'wrong password 123'], [pending.admin.email, TEST_PASSWORD], [disabled.email, TEST_PASSWORD],
    ] as const) {
      const { client, headers } = fromIp();
      await client.session();
      const response = await client.request('POST', '/admin/api/auth/login', { body: { email, password }, headers });
      expect(response.status, email).toBe(401);
      expect(response.headers.get('set-cookie'), email).toBeNull();
      answers.push(withoutRequestId(response.body));
    }
    expect(answers[0]).toEqual({ error: { code: 'invalid_credentials', message: 'Invalid email or password', type: 'authentication_error', request_id: null } });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it('5 failures lock (account, IP) for 1 s, then 2 s; 429 with Retry-After; a completed sign-in resets; lockouts are logged', async () => {
    const owner = await enrolledAdmin(ctx.app);
    const { client, headers, ip } = fromIp();
    await client.session();
    const attempt = (password: string) => client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password }, headers });
    for (let index = 1; index <= 5; index += 1) expect((await attempt(`wrong password ${index}`)).status).toBe(401);
    const locked = await attempt(TEST_PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('too_many_attempts');
    expect(locked.headers.get('retry-after')).toBe('1');
    // Another address is not locked out by this one.
    const other = fromIp();
    await other.client.session();
    expect((await other.client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: TEST_PASSWORD }, headers: other.headers })).status).toBe(200);
    ctx.app.clock.advance(1_000);
    expect((await attempt('wrong password 6')).status).toBe(401);
    const doubled = await attempt(TEST_PASSWORD);
    expect(doubled.status).toBe(429);
    expect(doubled.headers.get('retry-after')).toBe('2');
    ctx.app.clock.advance(1_000);
    expect((await attempt(TEST_PASSWORD)).headers.get('retry-after')).toBe('1');
    ctx.app.clock.advance(1_000);
    const events = await securityEvents('login_locked', owner.email);
    expect(events.map((event) => [event.ip, event.detail.failures, event.detail.lock_seconds])).toEqual([[ip, 5, 1], [ip, 6, 2]]);
    // A right password alone does not reset the counter; the completed sign-in does.
    expect((await attempt(TEST_PASSWORD)).status).toBe(200);
    ctx.app.clock.advance(30_000);
    expect((await client.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, ctx.app.clock.now()) }, headers })).status).toBe(200);
    expect((await ctx.app.deps.db.query('SELECT 1 FROM admin_login_failures WHERE account_key = $1 AND ip = $2', [owner.email, ip])).rows).toHaveLength(0);
    for (let index = 1; index <= 4; index += 1) expect((await attempt(`wrong again ${index}`)).status).toBe(401);
  });

  it('wrong TOTP codes count like passwords and lock the second step too', async () => {
    const owner = await enrolledAdmin(ctx.app);
    const { client, headers } = fromIp();
    await client.session();
    expect((await client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: TEST_PASSWORD }, headers })).status).toBe(200);
    const now = ctx.app.clock.now().getTime();
    const valid = new Set([-30_000, 0, 30_000].map((offset) => totpAt(owner.secret, new Date(now + offset))));
    const wrongCode = ['000000', '111111', '222222', '333333'].find((code) => !valid.has(code))!;
    for (let index = 0; index < 5; index += 1) {
      const wrong = await client.request('POST', '/admin/api/auth/totp', { body: { code: wrongCode }, headers });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('invalid_code');
    }
    const locked = await client.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, ctx.app.clock.now()) }, headers });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    expect((await securityEvents('login_locked', owner.email)).at(-1)!.detail).toMatchObject({ kind: 'totp', failures: 5 });
  });

  it('an unknown account is counted and locked exactly like a real one', async () => {
    const { client, headers } = fromIp();
    await client.session();
    const email = `Ghost-${Date.now()}@Example.com`;
    for (let index = 0; index < 5; index += 1) {
      expect((await client.request('POST', '/admin/api/auth/login', { body: { email, password: 'whatever password' }, headers })).status).toBe(401);
    }
    const locked = await client.request('POST', '/admin/api/auth/login', { body: { email: email.toLowerCase(), password: 'whatever password' }, headers });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    expect(await securityEvents('login_locked', email.toLowerCase())).toHaveLength(1);
  });

  it('more than 50 failures in an hour on one account raise one alert and lock no other address', async () => {
    const owner = await enrolledAdmin(ctx.app);
    for (let round = 0; round < 13; round += 1) {
      const { client, headers } = fromIp(`203.0.113.${round + 1}`);
      await client.session();
      for (let index = 0; index < 4; index += 1) {
        expect((await client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: `nope ${round}/${index} xx` }, headers })).status).toBe(401);
      }
    }
    const alerts = await securityEvents('account_failures_alert', owner.email);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].detail.failures).toBe(51);
    expect(await securityEvents('login_locked', owner.email)).toHaveLength(0);
    const { client } = fromIp('192.0.2.200');
    await client.login(owner.email, TEST_PASSWORD, owner.secret);
  });
});

describe('second factor (A3–A5) and timeouts (A7)', () => {
  it('refuses a replayed TOTP code, also when two sign-ins race with it', async () => {
    const owner = await enrolledAdmin(ctx.app);
    ctx.app.clock.advance(30_000);
    const code = totpAt(owner.secret, ctx.app.clock.now());
    const halfSignedIn = async () => {
      const { client } = fromIp();
      await client.session();
      expect((await client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: TEST_PASSWORD } })).status).toBe(200);
      return client;
    };
    const first = await halfSignedIn();
    expect((await first.request('POST', '/admin/api/auth/totp', { body: { code } })).status).toBe(200);
    const replay = await (await halfSignedIn()).request('POST', '/admin/api/auth/totp', { body: { code } });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('invalid_code');
    // An older step is refused as well, even inside the ±1 window.
    const older = await (await halfSignedIn()).request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, new Date(ctx.app.clock.now().getTime() - 30_000)) } });
    expect(older.status).toBe(401);
    ctx.app.clock.advance(30_000);
    const next = totpAt(owner.secret, ctx.app.clock.now());
    const racers = await Promise.all([halfSignedIn(), halfSignedIn(), halfSignedIn()]);
    const results = await Promise.all(racers.map((client) => client.request('POST', '/admin/api/auth/totp', { body: { code: next } })));
    expect(results.map((result) => result.status).sort()).toEqual([200, 401, 401]);
  });

  it('a recovery code signs in once; either code or recovery_code, not both', async () => {
    const owner = await enrolledAdmin(ctx.app);
    expect(owner.recoveryCodes).toHaveLength(10);
    expect(new Set(owner.recoveryCodes).size).toBe(10);
    for (const code of owner.recoveryCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    const stored = (await ctx.app.deps.db.query<any>('SELECT code_hash FROM admin_recovery_codes WHERE admin_id = $1', [owner.id])).rows;
    expect(stored).toHaveLength(10);
    for (const row of stored) expect(row.code_hash).toMatch(/^\$argon2id\$/);
    const signIn = async (body: Record<string, unknown>) => {
      const { client } = fromIp();
      await client.session();
      await client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: TEST_PASSWORD } });
      return client.request('POST', '/admin/api/auth/totp', { body });
    };
    const used = owner.recoveryCodes[3]!;
    expect((await signIn({ recovery_code: used.toUpperCase().replace('-', ' ') })).status).toBe(200);
    const again = await signIn({ recovery_code: used });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_code');
    expect((await signIn({ recovery_code: owner.recoveryCodes[4]! })).status).toBe(200);
    const both = await signIn({ recovery_code: owner.recoveryCodes[5]!, code: '123456' });
    expect(both.status).toBe(400);
    expect((await signIn({})).body.error).toMatchObject({ code: 'invalid_request', param: 'code' });
    const audit = (await ctx.app.deps.db.query<any>("SELECT after FROM audit_events WHERE action = 'admin.login' AND target_id = $1 ORDER BY id", [owner.id])).rows;
    expect(audit.map((row) => row.after.method)).toEqual(['recovery_code', 'recovery_code']);
  });

  it('mfa_pending lasts 5 minutes; the TOTP step needs it', async () => {
    const owner = await enrolledAdmin(ctx.app);
    const { client } = fromIp();
    await client.session();
    // No password step yet: the pre-session cannot take a code.
    const early = await client.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, ctx.app.clock.now()) } });
    expect(early.status).toBe(401);
    expect(early.body.error.code).toBe('unauthenticated');
    await client.request('POST', '/admin/api/auth/login', { body: { email: owner.email, password: TEST_PASSWORD } });
    expect((await client.session()).body.state).toBe('mfa_pending');
    ctx.app.clock.advance(5 * 60_000 - 1);
    expect((await client.session()).body.state).toBe('mfa_pending');
    ctx.app.clock.advance(1);
    // The session is gone, and its CSRF token with it (A8 refuses first); the console starts over.
    const late = await client.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, ctx.app.clock.now()) } });
    expect(late.status).toBe(403);
    expect(late.body.error.code).toBe('csrf_failed');
    const restarted = await client.session();
    expect(restarted.body).toMatchObject({ state: 'anonymous', admin: null });
    expect(restarted.headers.get('set-cookie')).toMatch(/^__Host-gr_session=/);
    const stillNo = await client.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(owner.secret, ctx.app.clock.now()) } });
    expect(stillNo.status).toBe(401);
    expect(stillNo.body.error.code).toBe('unauthenticated');
  });

  it('idle timeout 30 min, absolute 8 h', async () => {
    const owner = await enrolledAdmin(ctx.app);
    const { client } = fromIp();
    await client.login(owner.email, TEST_PASSWORD, owner.secret);
    const list = () => client.request('GET', '/admin/api/admin/models');
    ctx.app.clock.advance(29 * 60_000 + 59_000);
    expect((await list()).status).toBe(200);
    ctx.app.clock.advance(29 * 60_000);
    expect((await list()).status).toBe(200);
    ctx.app.clock.advance(30 * 60_000);
    expect((await list()).status).toBe(401);
    // Active all along: the absolute end still comes 8 h after sign-in.
    const active = fromIp().client;
    await active.login(owner.email, TEST_PASSWORD, owner.secret);
    for (let minutes = 20; minutes < 8 * 60; minutes += 20) {
      ctx.app.clock.advance(20 * 60_000);
      expect((await active.request('GET', '/admin/api/admin/models')).status, `after ${minutes} min`).toBe(200);
    }
    ctx.app.clock.advance(20 * 60_000);
    const expired = await active.request('GET', '/admin/api/admin/models');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('unauthenticated');
  });
});
