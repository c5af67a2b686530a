import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAdminWithLink } from '../../src/workflows/admins.js';
import type { SweepReport } from '../../src/workflows/sweep.js';
import { ConsoleClient, enrolledAdmin, TEST_PASSWORD } from '../harness/console.js';
import { CUSTOMER_PASSWORD, CustomerClient, lastMail, signedUpUser } from '../harness/customer-console.js';
import { useTestApp } from '../harness/setup.js';

/**
 * The sweeper's data retention (ARCHITECTURE "Data retention"): rows that can no longer change an answer go, one
 * bounded batch per table per round, and nothing live goes with them — sign-in throttle rows (a lockout in force still
 * refuses), sessions, email tokens and enrollment links (a late click answers as before), the mail outbox; the audit
 * trail stays whole. Rows are made through the real routes, the manual clock moves, `worker.sweepOnce()` runs.
 */
const ctx = useTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32', SIGNUP_TEST_CREDITS: '50000' } });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WRONG = 'not the password at all';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const withoutRequestId = (body: any) => ({ ...body, error: { ...body.error, request_id: null } });
let ipCounter = 0;
const nextIp = () => `198.51.100.${(ipCounter += 1)}`;
let emailCounter = 0;
const ghost = (label: string) => `ghost-${label}-${process.pid}-${(emailCounter += 1)}@example.com`;

const PRUNED = ['countersPruned', 'throttlePruned', 'sessionsPruned', 'emailTokensPruned', 'enrollmentsPruned', 'outboxPruned'] as const;

async function sweepOnce(): Promise<SweepReport> {
  const report = await ctx.app.worker.sweepOnce();
  expect(report, 'the sweep round failed (see the log)').toBeDefined();
  return report;
}

/** 40 days on (past every retention), swept until nothing more goes: a test starts from the rows that stay for good. */
async function drain(): Promise<void> {
  ctx.app.clock.advance(40 * DAY);
  for (let round = 0; round < 10; round += 1) {
    const report = await sweepOnce();
    if (PRUNED.every((field) => report[field] === 0)) return;
  }
  throw new Error('the sweeper did not drain');
}

/** Moves the clock to `at`. */
function advanceTo(at: number): void {
  const now = ctx.app.clock.now().getTime();
  expect(at).toBeGreaterThanOrEqual(now);
  ctx.app.clock.advance(at - now);
}

async function column(sql: string, params: unknown[] = []): Promise<string[]> {
  return (await ctx.app.deps.db.query<{ k: string }>(sql, params)).rows.map((row) => row.k).sort();
}

/**
 * A console client whose requests come from one address. `post` reads the session first (a new pre-session and CSRF
 * token when the clock has moved past the old one), as the console page does; `login` is the password step.
 */
function consoleFrom(client: CustomerClient | ConsoleClient, prefix: '/console/api' | '/admin/api', ip: string) {
  const headers = { 'x-forwarded-for': ip };
  const post = async (path: string, body?: unknown) => {
    await client.request('GET', `${prefix}/auth/session`, { headers });
    return client.request('POST', `${prefix}${path}`, { body, headers });
  };
  return { client, post, login: (email: string, password: string) => post('/auth/login', { email, password }) };
}
const customerFrom = (ip: string) => consoleFrom(new CustomerClient(ctx.app), '/console/api', ip);
const adminFrom = (ip: string) => consoleFrom(new ConsoleClient(ctx.app), '/admin/api', ip);

describe('sign-in throttle rows', () => {
  const pairs = () => column(`SELECT ip AS k FROM customer_login_failures UNION ALL SELECT 'admin:' || ip FROM admin_login_failures`);
  const accounts = () => column(`SELECT account_key AS k FROM customer_account_failures UNION ALL SELECT 'admin:' || account_key FROM admin_account_failures`);

  it('ended hours and pairs quiet for a day go; a lockout in force survives the sweep and still refuses the right password', async () => {
    await drain();
    expect({ pairs: await pairs(), accounts: await accounts() }).toEqual({ pairs: [], accounts: [] });
    const t0 = ctx.app.clock.now().getTime();

    // t0: failures that will be dead first (unknown accounts count exactly like real ones).
    const oldIp = nextIp();
    const oldEmail = ghost('old');
    const old = customerFrom(oldIp);
    for (let index = 0; index < 2; index += 1) expect((await old.login(oldEmail, WRONG)).status).toBe(401);
    const adminIp = nextIp();
    const adminEmail = ghost('admin');
    expect((await adminFrom(adminIp).login(adminEmail, WRONG)).status).toBe(401);

    // t0 + 40 min: another account's hour starts.
    advanceTo(t0 + 40 * MINUTE);
    const laterIp = nextIp();
    const laterEmail = ghost('later');
    expect((await customerFrom(laterIp).login(laterEmail, WRONG)).status).toBe(401);

    // From t0 + 41 min: 15 consecutive failures of a real user from one address, each after the previous lock ended:
    // the 15th locks the pair for the full 15 minutes.
    advanceTo(t0 + 41 * MINUTE);
    const user = await signedUpUser(ctx.app);
    const lockIp = nextIp();
    const attacker = customerFrom(lockIp);
    for (let failure = 1; failure <= 15; failure += 1) {
      expect((await attacker.login(user.email, WRONG)).status).toBe(401);
      if (failure >= 5 && failure < 15) ctx.app.clock.advance(1000 * 2 ** (failure - 5));
    }
    const lockedUntil = (await ctx.app.deps.db.query<{ locked_until: Date }>('SELECT locked_until FROM customer_login_failures WHERE ip = $1', [lockIp])).rows[0]!.locked_until;
    expect(lockedUntil.getTime()).toBe(ctx.app.clock.now().getTime() + 15 * MINUTE);
    const livePairs = await pairs();
    expect(livePairs).toHaveLength(4);

    // t0 + 1 h: the first hour ended for the two t0 accounts (customer and admin); their rows go, the pairs stay.
    advanceTo(t0 + HOUR - 1);
    expect((await sweepOnce()).throttlePruned).toBe(0);
    advanceTo(t0 + HOUR);
    expect((await sweepOnce()).throttlePruned).toBe(2);
    expect(await accounts()).toEqual([laterEmail, user.email.toLowerCase()].sort());
    expect(await pairs()).toEqual(livePairs);
    // The lockout is still in force: the right password from that address is refused without being evaluated.
    const refused = await attacker.login(user.email, CUSTOMER_PASSWORD);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('too_many_attempts');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // t0 + 24 h 30 min: the t0 pairs have been quiet for a day (and unlocked) and go with the two other ended hours;
    // the later pairs are younger than a day and stay, their consecutive failures kept.
    advanceTo(t0 + DAY + 30 * MINUTE);
    expect((await sweepOnce()).throttlePruned).toBe(4);
    expect(await accounts()).toEqual([]);
    expect(await pairs()).toEqual([laterIp, lockIp].sort());
    // The 16th failure of the kept pair locks it again at once: the right password is refused.
    expect((await attacker.login(user.email, WRONG)).status).toBe(401);
    expect((await attacker.login(user.email, CUSTOMER_PASSWORD)).status).toBe(429);

    // A day of quiet later the pair is forgotten: the next failure counts from 1, and the right password signs in.
    ctx.app.clock.advance(DAY + 15 * MINUTE);
    expect((await sweepOnce()).throttlePruned).toBe(3); // two pairs, one ended hour
    expect(await pairs()).toEqual([]);
    expect((await attacker.login(user.email, WRONG)).status).toBe(401);
    expect((await attacker.login(user.email, CUSTOMER_PASSWORD)).status).toBe(200);
  });
});

describe('sessions', () => {
  const sessions = () => column(`SELECT id_hash AS k FROM customer_sessions UNION ALL SELECT id_hash FROM admin_sessions`);

  it('idle and expired sessions of both consoles go; the ones in use stay and keep working', async () => {
    await drain();
    expect(await sessions()).toEqual([]);
    const t0 = ctx.app.clock.now().getTime();
    const keeper = await signedUpUser(ctx.app);
    const idler = await signedUpUser(ctx.app);
    const visitor = new CustomerClient(ctx.app);
    await visitor.session(); // an anonymous pre-session
    const admin = await enrolledAdmin(ctx.app);
    const idleAdmin = await enrolledAdmin(ctx.app, 'viewer');
    const halfway = new ConsoleClient(ctx.app); // the password step done, the TOTP step never (mfa_pending, 5 min)
    await halfway.session();
    expect((await halfway.request('POST', '/admin/api/auth/login', { body: { email: idleAdmin.email, password: TEST_PASSWORD } })).status).toBe(200);
    const hashes = (clients: Array<{ cookie: string | null }>) => clients.map((client) => sha256(client.cookie!)).sort();
    expect(await sessions()).toEqual(hashes([keeper.client, idler.client, visitor, admin.client, idleAdmin.client, halfway]));

    advanceTo(t0 + 20 * MINUTE);
    expect((await keeper.client.session()).body.user).not.toBeNull();
    expect((await admin.client.session()).status).toBe(200);
    advanceTo(t0 + 30 * MINUTE - 1);
    expect((await sweepOnce()).sessionsPruned).toBe(1); // only the half-signed-in one (5 min) has ended
    advanceTo(t0 + 30 * MINUTE);
    expect((await sweepOnce()).sessionsPruned).toBe(3); // idle 30 min: the idle user, the visitor, the idle admin
    expect(await sessions()).toEqual(hashes([keeper.client, admin.client]));
    expect((await keeper.client.session()).body.user.id).toBe(keeper.userId);
    const listed = await admin.client.request('GET', '/admin/api/sessions');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.map((row: any) => row.email)).toEqual([admin.email]);

    // Kept in use, they still end at the absolute 8 h.
    while (ctx.app.clock.now().getTime() + 25 * MINUTE < t0 + 8 * HOUR) {
      ctx.app.clock.advance(25 * MINUTE);
      expect((await keeper.client.session()).body.user).not.toBeNull();
      expect((await admin.client.session()).status).toBe(200);
    }
    advanceTo(t0 + 8 * HOUR - 1);
    expect((await sweepOnce()).sessionsPruned).toBe(0);
    advanceTo(t0 + 8 * HOUR);
    expect((await sweepOnce()).sessionsPruned).toBe(2);
    expect(await sessions()).toEqual([]);
  });
});

describe('email tokens and enrollment links', () => {
  const tokens = () => column('SELECT token_hash AS k FROM email_tokens');
  const tokenOf = async (email: string, purpose: string) =>
    (await column('SELECT token_hash AS k FROM email_tokens WHERE lower(email) = lower($1) AND purpose = $2', [email, purpose]));

  it('a week past expiry they go (a late click answers as before); an unverified user keeps the verify token its credits hang on', async () => {
    await drain();
    const kept = await tokens(); // verify tokens of users of earlier tests who never verified
    const t0 = ctx.app.clock.now().getTime();
    const verified = await signedUpUser(ctx.app); // its verify token: used, expires t0 + 24 h
    const usedVerify = await lastMail(ctx.app, verified.email);
    const anonymous = customerFrom(nextIp());
    expect((await anonymous.post('/auth/password-reset', { email: verified.email })).status).toBe(202); // unused, t0 + 1 h
    const unverified = await signedUpUser(ctx.app, { verify: false }); // unused, expires t0 + 24 h, kept
    const invited = ghost('invited');
    expect((await verified.client.request('POST', '/console/api/team/invitations', { body: { email: invited, role: 'member' } })).status).toBe(201); // t0 + 7 d
    const unverifiedToken = await tokenOf(unverified.email, 'verify');
    const invitation = await tokenOf(invited, 'invitation');

    advanceTo(t0 + 2 * DAY);
    const lateClick = () => anonymous.post('/auth/verify', { token: usedVerify!.token });
    const before = await lateClick();
    expect(before.status).toBe(400);

    advanceTo(t0 + 8 * DAY - 1);
    expect((await sweepOnce()).emailTokensPruned).toBe(1); // the reset link, expired t0 + 1 h
    advanceTo(t0 + 8 * DAY);
    expect((await sweepOnce()).emailTokensPruned).toBe(1); // the used verify link
    expect(await tokens()).toEqual([...kept, ...unverifiedToken, ...invitation].sort());
    const after = await lateClick();
    expect(after.status).toBe(400);
    expect(withoutRequestId(after.body)).toEqual(withoutRequestId(before.body));

    advanceTo(t0 + 14 * DAY);
    expect((await sweepOnce()).emailTokensPruned).toBe(1); // the invitation, expired t0 + 7 d
    expect(await tokens()).toEqual([...kept, ...unverifiedToken].sort());

    // Two weeks on, the unverified user asks for a new link: it still names the customer it created, so verifying
    // grants the sign-up test credits.
    const again = customerFrom(nextIp());
    expect((await again.login(unverified.email, CUSTOMER_PASSWORD)).status).toBe(200);
    expect((await again.client.request('POST', '/console/api/auth/verify/resend')).status).toBe(202); // signed in just now
    const verifiedLate = await again.client.request('POST', '/console/api/auth/verify', { body: { token: (await lastMail(ctx.app, unverified.email))!.token } });
    expect(verifiedLate.status, verifiedLate.text).toBe(200);
    expect(verifiedLate.body).toEqual({ email_verified: true, credits_granted: 50000 });
  });

  it('enrollment links a week past expiry go, used or not; a late one answers 404 as before', async () => {
    const links = () => column('SELECT token_hash AS k FROM admin_enrollments');
    await drain();
    expect(await links()).toEqual([]);
    const t0 = ctx.app.clock.now().getTime();
    const pending = await createAdminWithLink(ctx.app.deps, { email: ghost('pending-admin'), role: 'viewer' });
    await enrolledAdmin(ctx.app, 'viewer'); // its link: used
    const token = new URL(pending.url).hash.replace(/^#token=/, '');
    const late = adminFrom(nextIp());
    const lateStart = () => late.post('/auth/enroll/start', { token });

    advanceTo(t0 + 7 * DAY);
    const fresh = await createAdminWithLink(ctx.app.deps, { email: ghost('fresh-admin'), role: 'viewer' }); // expires t0 + 8 d
    const before = await lateStart();
    expect(before.status).toBe(404);
    advanceTo(t0 + 8 * DAY - 1);
    expect((await sweepOnce()).enrollmentsPruned).toBe(0);
    advanceTo(t0 + 8 * DAY);
    expect((await sweepOnce()).enrollmentsPruned).toBe(2);
    expect(await links()).toEqual([sha256(new URL(fresh.url).hash.replace(/^#token=/, ''))]);
    const after = await lateStart();
    expect(withoutRequestId(after.body)).toEqual(withoutRequestId(before.body));
    expect(after.status).toBe(404);
  });
});

describe('mail outbox and audit trail', () => {
  const outbox = async () => (await ctx.app.deps.db.query<{ id: bigint }>('SELECT id FROM mail_outbox ORDER BY id')).rows.map((row) => String(row.id));

  it('outbox mail goes after 30 days; what the operator lists is the rest', async () => {
    await drain();
    expect(await outbox()).toEqual([]);
    const t0 = ctx.app.clock.now().getTime();
    await signedUpUser(ctx.app, { verify: false });
    await signedUpUser(ctx.app, { verify: false });
    const old = await outbox();
    expect(old).toHaveLength(2);
    advanceTo(t0 + 20 * DAY);
    await signedUpUser(ctx.app, { verify: false });
    const recent = (await outbox()).filter((id) => !old.includes(id));
    expect(recent).toHaveLength(1);

    advanceTo(t0 + 30 * DAY - 1);
    expect((await sweepOnce()).outboxPruned).toBe(0);
    advanceTo(t0 + 30 * DAY);
    expect((await sweepOnce()).outboxPruned).toBe(2);
    expect(await outbox()).toEqual(recent);
    const listed = await ctx.app.request('GET', '/api/admin/mail-outbox', { operator: true });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data.map((row: any) => String(row.id))).toEqual(recent);
  });

  it('security_events and audit_events are never pruned', async () => {
    const count = async (table: string) => Number((await ctx.app.deps.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);
    const before = { security: await count('security_events'), audit: await count('audit_events') };
    expect(before.security).toBeGreaterThan(0); // the lockouts of the throttle test
    expect(before.audit).toBeGreaterThan(0);
    await drain();
    await drain();
    expect({ security: await count('security_events'), audit: await count('audit_events') }).toEqual(before);
  });
});
