import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sweep } from '../../src/workflows/sweep.js';
import { useTestApp } from '../harness/setup.js';
import { totpAt } from '../harness/console.js';
import { CUSTOMER_PASSWORD, CustomerClient, lastMail, signedUpUser, type SignedUpUser } from '../harness/customer-console.js';

/**
 * Two guards of the customer console (API.md §13, SEMANTICS C5/C6): mail-sending requests (resend verification,
 * password reset) are limited per address and per client address, so nobody can flood an inbox; and a suspended
 * customer's users cannot sign in (403 `customer_suspended`, told only after a correct password and code) and their
 * open sessions end with the suspension.
 */
const ctx = useTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32', SIGNUP_TEST_CREDITS: '50000' } });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const withoutRequestId = (body: any) => ({ ...body, error: { ...body.error, request_id: null } });
let ipCounter = 0;
const nextIp = () => `192.0.2.${(ipCounter += 1)}`;

async function mailsTo(email: string, kind: 'verify' | 'reset'): Promise<number> {
  return (await ctx.app.deps.db.query('SELECT 1 FROM mail_outbox WHERE lower(recipient) = lower($1) AND kind = $2', [email, kind])).rows.length;
}

/** An anonymous console client (pre-session and CSRF token) whose requests come from `ip`. */
async function anonymousFrom(ip: string): Promise<{ reset(email: string): Promise<{ status: number; body: any }> }> {
  const client = new CustomerClient(ctx.app);
  await client.request('GET', '/console/api/auth/session', { headers: { 'x-forwarded-for': ip } });
  return { reset: (email) => client.request('POST', '/console/api/auth/password-reset', { body: { email }, headers: { 'x-forwarded-for': ip } }) };
}

async function setStatus(customerId: string, status: 'active' | 'suspended'): Promise<void> {
  const response = await ctx.app.request('PATCH', `/api/public/customers/${customerId}`, { operator: true, body: { status } });
  expect(response.status, response.text).toBe(200);
}

async function loginFrom(email: string, ip: string, password = CUSTOMER_PASSWORD) {
  const client = new CustomerClient(ctx.app);
  await client.request('GET', '/console/api/auth/session', { headers: { 'x-forwarded-for': ip } });
  const response = await client.request('POST', '/console/api/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });
  return { client, response };
}

describe('mail request limits', () => {
  it('resend verification: 3 an hour per address (429 + Retry-After, nothing sent), from any client address; the window ends', async () => {
    const user = await signedUpUser(ctx.app, { verify: false });
    const ip = nextIp();
    const resend = (from = ip) => user.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': from } });
    expect(await mailsTo(user.email, 'verify')).toBe(1); // the sign-up's
    for (let index = 0; index < 3; index += 1) expect((await resend()).status).toBe(202);
    expect(await mailsTo(user.email, 'verify')).toBe(4);
    const fourth = await resend();
    expect(fourth.status).toBe(429);
    expect(fourth.body.error).toMatchObject({ code: 'too_many_attempts', message: 'Too many verification mails asked for; try again later' });
    const retryAfter = Number(fourth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // Another client address does not help: the limit is the inbox's.
    expect((await resend(nextIp())).status).toBe(429);
    expect(await mailsTo(user.email, 'verify')).toBe(4);
    // The last link sent still works; after the window, resending works again (a new sign-in: the session idled out).
    ctx.app.clock.advance(3_600_000);
    await user.client.session();
    expect((await user.client.login(user.email)).status).toBe(200);
    expect((await resend()).status).toBe(202);
    expect(await mailsTo(user.email, 'verify')).toBe(5);
    const verified = await user.client.request('POST', '/console/api/auth/verify', { body: { token: (await lastMail(ctx.app, user.email))!.token } });
    expect(verified.body).toEqual({ email_verified: true, credits_granted: 50_000 });
  });

  it('resend verification: 10 an hour per client address across addresses; another client address is not limited', async () => {
    const users: SignedUpUser[] = [];
    for (let index = 0; index < 5; index += 1) users.push(await signedUpUser(ctx.app, { verify: false }));
    const ip = nextIp();
    const resend = (index: number, from = ip) => users[index]!.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': from } });
    for (const [index, times] of [[0, 3], [1, 3], [2, 3], [3, 1]] as const) {
      for (let round = 0; round < times; round += 1) expect((await resend(index)).status).toBe(202);
    }
    const eleventh = await resend(3);
    expect(eleventh.status).toBe(429);
    expect(eleventh.body.error.code).toBe('too_many_attempts');
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await mailsTo(users[3]!.email, 'verify')).toBe(2);
    // A refused request from that client is not counted against the address: the same user elsewhere is fine.
    expect((await resend(3, nextIp())).status).toBe(202);
    expect((await resend(4, nextIp())).status).toBe(202);
    // A verified address is 409 before anything is counted.
    const verified = await signedUpUser(ctx.app);
    expect((await verified.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': ip } })).status).toBe(409);
  });

  it('password reset: always 202 with the same body; over 3 an hour per address nothing is sent (from any client address)', async () => {
    const user = await signedUpUser(ctx.app);
    const first = await anonymousFrom(nextIp());
    const answers = [];
    for (let index = 0; index < 3; index += 1) answers.push(await first.reset(user.email));
    expect(await mailsTo(user.email, 'reset')).toBe(3);
    const limited = await first.reset(user.email);
    const elsewhere = await (await anonymousFrom(nextIp())).reset(user.email.toUpperCase());
    const unknown = await first.reset('nobody-at-all@example.com');
    for (const answer of [...answers, limited, elsewhere, unknown]) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ accepted: true });
    }
    expect(await mailsTo(user.email, 'reset')).toBe(3);
    // The last link sent still works.
    const mail = await lastMail(ctx.app, user.email);
    const anonymous = new CustomerClient(ctx.app);
    await anonymous.session();
    expect((await anonymous.request('POST', '/console/api/auth/password-reset/confirm', { body: { token: mail!.token, password: 'a brand new long password' } })).status).toBe(204);
    // A new window.
    ctx.app.clock.advance(3_600_000);
    expect((await (await anonymousFrom(nextIp())).reset(user.email)).status).toBe(202);
    expect(await mailsTo(user.email, 'reset')).toBe(4);
  });

  it('password reset: 10 an hour per client address, unknown addresses included; the +tag of one inbox is one address', async () => {
    const user = await signedUpUser(ctx.app);
    const ip = nextIp();
    const client = await anonymousFrom(ip);
    for (let index = 0; index < 10; index += 1) expect((await client.reset(`ghost-${index}@example.com`)).status).toBe(202);
    const over = await client.reset(user.email);
    expect(over.status).toBe(202);
    expect(over.body).toEqual({ accepted: true });
    expect(await mailsTo(user.email, 'reset')).toBe(0);
    // Another client address gets the mail.
    expect((await (await anonymousFrom(nextIp())).reset(user.email)).status).toBe(202);
    expect(await mailsTo(user.email, 'reset')).toBe(1);
    // `name+tag@` counts for the inbox of `name@`: two requests for tagged variants use up the address's three.
    const [local, domain] = user.email.split('@');
    const other = await anonymousFrom(nextIp());
    await other.reset(`${local}+one@${domain}`);
    await other.reset(`${local}+two@${domain}`);
    expect((await other.reset(user.email)).status).toBe(202);
    expect(await mailsTo(user.email, 'reset')).toBe(1);
  });
});

describe('the hourly counters are pruned by the sweeper', () => {
  const counters = async () => ({
    signup: (await ctx.app.deps.db.query<{ ip: string }>('SELECT ip FROM signup_attempts ORDER BY ip')).rows.map((row) => row.ip),
    mail: (await ctx.app.deps.db.query<{ subject: string }>('SELECT subject FROM mail_request_counters ORDER BY subject')).rows.map((row) => row.subject),
  });

  it('rows whose one-hour window ended go at the next sweep (on the app clock); live windows stay and still count', async () => {
    // Start from nothing: whatever earlier tests counted has its window end here.
    ctx.app.clock.advance(3_600_000);
    await sweep(ctx.app.deps);
    expect(await counters()).toEqual({ signup: [], mail: [] });

    const early = nextIp();
    const user = await signedUpUser(ctx.app, { verify: false });
    await user.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': early } });
    await (await anonymousFrom(early)).reset(user.email);
    const first = await counters();
    expect(first.signup).toHaveLength(1);
    expect(first.mail).toHaveLength(4); // verify and reset, each by client address and by address

    // 40 minutes on, a second round from another address.
    ctx.app.clock.advance(40 * 60_000);
    const later = nextIp();
    const other = await signedUpUser(ctx.app, { verify: false });
    await other.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': later } });
    const both = await counters();
    expect(both.signup).toHaveLength(2);
    expect(both.mail).toHaveLength(6);

    // One millisecond before the first window ends, nothing goes.
    ctx.app.clock.advance(20 * 60_000 - 1);
    expect((await sweep(ctx.app.deps)).countersPruned).toBe(0);
    expect(await counters()).toEqual(both);

    // At its end, the first round's rows go; the second round's stay.
    ctx.app.clock.advance(1);
    expect((await sweep(ctx.app.deps)).countersPruned).toBe(5);
    const left = await counters();
    expect(left.signup).toEqual(both.signup.filter((ip) => !first.signup.includes(ip)));
    expect(left.mail).toEqual(both.mail.filter((subject) => !first.mail.includes(subject)));
    expect(left.mail).toEqual(expect.arrayContaining([`verify:ip:${later}`]));

    // The live window still limits: two more resends for `other` reach its three an hour; the next is refused.
    for (let index = 0; index < 2; index += 1) {
      expect((await other.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': nextIp() } })).status).toBe(202);
    }
    expect((await other.client.request('POST', '/console/api/auth/verify/resend', { headers: { 'x-forwarded-for': nextIp() } })).status).toBe(429);

    // An hour later every window has ended and everything goes.
    ctx.app.clock.advance(3_600_000);
    await sweep(ctx.app.deps);
    expect(await counters()).toEqual({ signup: [], mail: [] });
  });
});

describe('a suspended customer', () => {
  it('its console sessions end at the suspension, in its transaction (rows deleted, 401 after), and nothing changes', async () => {
    const user = await signedUpUser(ctx.app);
    const second = (await loginFrom(user.email, nextIp())).client;
    const stranger = await signedUpUser(ctx.app);
    // A half-signed-in session (TOTP step pending) of another user of the customer ends too.
    const invited = await user.client.request('POST', '/console/api/team/invitations', { body: { email: `pending-${process.pid}@example.com`, role: 'member' } });
    expect(invited.status, invited.text).toBe(201);
    const joiner = new CustomerClient(ctx.app);
    await joiner.request('GET', '/console/api/auth/session', { headers: { 'x-forwarded-for': nextIp() } });
    const joined = await joiner.request('POST', '/console/api/auth/signup', {
      body: { email: `pending-${process.pid}@example.com`, password: CUSTOMER_PASSWORD, invite_token: new URL(invited.body.invite_url).hash.replace('#invite=', '') },
    });
    expect(joined.status, joined.text).toBe(201);
    const start = await joiner.request('POST', '/console/api/account/totp/start');
    expect((await joiner.request('POST', '/console/api/account/totp/confirm', { body: { code: totpAt(start.body.secret, ctx.app.clock.now()) } })).status).toBe(200);
    const pending = await loginFrom(`pending-${process.pid}@example.com`, nextIp());
    expect(pending.response.body.state).toBe('mfa_pending');
    expect((await user.client.request('GET', '/console/api/keys')).status).toBe(200);
    const sessionsOf = async (customerId: string) => (await ctx.app.deps.db.query<{ state: string }>(
      'SELECT s.state FROM customer_sessions s JOIN customer_users u ON u.id = s.user_id WHERE u.customer_id = $1 ORDER BY s.state', [customerId],
    )).rows.map((row) => row.state);
    expect(await sessionsOf(user.customerId)).toEqual(['authenticated', 'authenticated', 'authenticated', 'mfa_pending']);

    await setStatus(user.customerId, 'suspended');
    // Gone with the suspension, before any of them makes a request; another customer's sessions are untouched.
    expect(await sessionsOf(user.customerId)).toEqual([]);
    expect(await sessionsOf(stranger.customerId)).toEqual(['authenticated']);

    const cookie = user.client.cookie!;
    const refused = await user.client.request('GET', '/console/api/keys');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthenticated');
    // The old cookie is a stranger now: the session route opens a new pre-session.
    const session = await user.client.session();
    expect(session.body).toMatchObject({ state: 'anonymous', user: null, customer: null });
    expect(user.client.cookie).not.toBe(cookie);
    // The pending TOTP step cannot finish the sign-in: its session, and the CSRF token with it, is gone.
    ctx.app.clock.advance(30_000);
    const code = await pending.client.request('POST', '/console/api/auth/totp', { body: { code: totpAt(start.body.secret, ctx.app.clock.now()) } });
    expect(code.status).toBe(403);
    expect(code.body.error.code).toBe('csrf_failed');
    expect(code.headers.get('set-cookie')).toBeNull();

    // A write with the old CSRF token is refused too, and changes nothing.
    const write = await second.request('POST', '/console/api/keys', { body: { name: 'after suspension', mode: 'test' } });
    expect(write.status).toBe(401);
    expect((await ctx.app.deps.db.query('SELECT 1 FROM api_keys WHERE customer_id = $1', [user.customerId])).rows).toHaveLength(0);
    expect((await second.request('GET', '/console/api/keys')).status).toBe(401);
    // The other customer carries on.
    expect((await stranger.client.request('GET', '/console/api/keys')).status).toBe(200);

    // Reactivated: the ended sessions stay ended; a new sign-in works.
    await setStatus(user.customerId, 'active');
    user.client.cookie = cookie;
    expect((await user.client.request('GET', '/console/api/keys')).status).toBe(401);
    const again = await loginFrom(user.email, nextIp());
    expect(again.response.status).toBe(200);
    expect((await again.client.request('GET', '/console/api/keys')).status).toBe(200);
  });

  it('a session that outlives a suspension (status changed outside the workflow) still ends at its next request: 403, cookie cleared', async () => {
    const user = await signedUpUser(ctx.app);
    await ctx.app.deps.db.query("UPDATE customers SET status = 'suspended' WHERE id = $1", [user.customerId]);
    const cookie = user.client.cookie!;
    const refused = await user.client.request('GET', '/console/api/keys');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'customer_suspended', message: 'This customer account is suspended; contact the operator' });
    expect(user.client.lastSetCookie).toMatch(/^__Host-gr_customer=; .*Max-Age=0/);
    expect((await ctx.app.deps.db.query('SELECT 1 FROM customer_sessions WHERE id_hash = $1', [sha256(cookie)])).rows).toHaveLength(0);
    await setStatus(user.customerId, 'active');
  });

  it('sign-in: 403 customer_suspended only after the right password (not counted as a failure); a wrong one is the uniform 401', async () => {
    const user = await signedUpUser(ctx.app);
    await setStatus(user.customerId, 'suspended');
    const ip = nextIp();
    const wrong = await loginFrom(user.email, ip, 'wrong password here');
    const unknown = await loginFrom('nobody-here@example.com', ip, 'wrong password here');
    expect(wrong.response.status).toBe(401);
    expect(withoutRequestId(wrong.response.body)).toEqual(withoutRequestId(unknown.response.body));
    // Five refusals with the right password do not lock the pair (counted, one failure and five would reach the lockout).
    for (let index = 0; index < 5; index += 1) {
      const right = await loginFrom(user.email, ip);
      expect(right.response.status).toBe(403);
      expect(right.response.body.error.code).toBe('customer_suspended');
      expect(right.response.headers.get('set-cookie')).toBeNull();
    }
    const sessions = (await ctx.app.deps.db.query("SELECT 1 FROM customer_sessions WHERE user_id = $1 AND state = 'authenticated'", [user.userId])).rows;
    expect(sessions).toHaveLength(0); // the sign-up's ended with the suspension
    expect((await user.client.request('GET', '/console/api/auth/session')).body.state).toBe('anonymous');
    await setStatus(user.customerId, 'active');
    expect((await loginFrom(user.email, ip)).response.status).toBe(200);
  });

  it('with TOTP: the password step still answers mfa_pending; a right code or recovery code → 403 (the recovery code stays usable)', async () => {
    const user = await signedUpUser(ctx.app);
    const start = await user.client.request('POST', '/console/api/account/totp/start');
    const confirmed = await user.client.request('POST', '/console/api/account/totp/confirm', { body: { code: totpAt(start.body.secret, ctx.app.clock.now()) } });
    expect(confirmed.status, confirmed.text).toBe(200);
    const recoveryCode = confirmed.body.recovery_codes[0] as string;
    await setStatus(user.customerId, 'suspended');

    const ip = nextIp();
    const { client, response } = await loginFrom(user.email, ip);
    expect(response.body.state).toBe('mfa_pending');
    const wrongCode = await client.request('POST', '/console/api/auth/totp', { body: { code: '000000' }, headers: { 'x-forwarded-for': ip } });
    expect(wrongCode.status).toBe(401);
    ctx.app.clock.advance(30_000);
    const code = await client.request('POST', '/console/api/auth/totp', { body: { code: totpAt(start.body.secret, ctx.app.clock.now()) }, headers: { 'x-forwarded-for': ip } });
    expect(code.status).toBe(403);
    expect(code.body.error.code).toBe('customer_suspended');
    const recovery = await client.request('POST', '/console/api/auth/totp', { body: { recovery_code: recoveryCode }, headers: { 'x-forwarded-for': ip } });
    expect(recovery.status).toBe(403);
    expect(recovery.body.error.code).toBe('customer_suspended');
    expect((await client.request('GET', '/console/api/keys')).status).toBe(401);

    await setStatus(user.customerId, 'active');
    const back = await loginFrom(user.email, nextIp());
    expect(back.response.body.state).toBe('mfa_pending');
    const used = await back.client.request('POST', '/console/api/auth/totp', { body: { recovery_code: recoveryCode } });
    expect(used.status, used.text).toBe(200);
    expect((await back.client.request('GET', '/console/api/keys')).status).toBe(200);
  });

  it('an owner\'s invitation cannot be used while the customer is suspended (403, nothing created) and works after reactivation', async () => {
    const owner = await signedUpUser(ctx.app);
    const email = `member-${process.pid}@example.com`;
    const invited = await owner.client.request('POST', '/console/api/team/invitations', { body: { email, role: 'member' } });
    expect(invited.status, invited.text).toBe(201);
    const token = new URL(invited.body.invite_url).hash.replace('#invite=', '');
    await setStatus(owner.customerId, 'suspended');
    const signUp = async () => {
      const client = new CustomerClient(ctx.app);
      const ip = nextIp();
      await client.request('GET', '/console/api/auth/session', { headers: { 'x-forwarded-for': ip } });
      return client.request('POST', '/console/api/auth/signup', { body: { email, password: CUSTOMER_PASSWORD, invite_token: token }, headers: { 'x-forwarded-for': ip } });
    };
    const refused = await signUp();
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('customer_suspended');
    expect((await ctx.app.deps.db.query('SELECT 1 FROM customer_users WHERE lower(email) = lower($1)', [email])).rows).toHaveLength(0);
    await setStatus(owner.customerId, 'active');
    const joined = await signUp();
    expect(joined.status, joined.text).toBe(201);
    expect(joined.body).toMatchObject({ state: 'authenticated', user: { role: 'member' }, customer: { id: owner.customerId } });
  });
});
