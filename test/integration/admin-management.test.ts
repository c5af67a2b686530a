import { describe, expect, it } from 'vitest';
import { useTestApp } from '../harness/setup.js';
import { ConsoleClient, TEST_PASSWORD, enrolledAdmin, totpAt } from '../harness/console.js';
import { createAdminWithLink } from '../../src/workflows/admins.js';

/**
 * Enrollment links, password changes, admin management and sessions over real HTTP (API.md §12, SEMANTICS A1, A3,
 * A5, A7): single-use 24 h links, the code that must match before enrollment completes, revocation on password and
 * privilege changes, owners-only management with its audit rows, and session lists and revocation.
 */
const ctx = useTestApp();

function tokenOf(url: string): string {
  const parsed = new URL(url);
  expect(parsed.origin + parsed.pathname).toBe(`${ctx.app.deps.config.publicBaseUrl}/admin/enroll`);
  return parsed.hash.replace(/^#token=/, '');
}

async function auditOf(targetId: string): Promise<any[]> {
  return (await ctx.app.deps.db.query<any>('SELECT actor, action, before, after FROM audit_events WHERE target_id = $1 ORDER BY id', [targetId])).rows;
}

describe('enrollment links', () => {
  it('start offers a secret, URI and QR code; finish needs a matching code and a 12–256 character password; single use', async () => {
    const created = await createAdminWithLink(ctx.app.deps, { email: `New.Admin-${Date.now()}@Example.com`, role: 'operator' });
    const token = tokenOf(created.url);
    expect(created.expiresAt.getTime() - ctx.app.clock.now().getTime()).toBe(24 * 3_600_000);
    const client = new ConsoleClient(ctx.app);
    await client.session();
    const start = await client.request('POST', '/admin/api/auth/enroll/start', { body: { token } });
    expect(start.status, start.text).toBe(200);
    expect(start.body).toMatchObject({ email: created.admin.email, password_required: true, secret: expect.stringMatching(/^[A-Z2-7]{32}$/) });
    expect(start.body.otpauth_uri).toContain(`secret=${start.body.secret}`);
    expect(start.body.qr_svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // Each start replaces the offered secret: a code for the first one no longer works.
    const restart = await client.request('POST', '/admin/api/auth/enroll/start', { body: { token } });
    expect(restart.body.secret).not.toBe(start.body.secret);
    const secret = restart.body.secret;
    const finish = (body: Record<string, unknown>) => client.request('POST', '/admin/api/auth/enroll/finish', { body: { token, ...body } });
    const stale = await finish({ password: TEST_PASSWORD, code: totpAt(start.body.secret, ctx.app.clock.now()) });
    expect(stale.status).toBe(400);
    expect(stale.body.error).toMatchObject({ code: 'invalid_code', param: 'code' });
    for (const password of [undefined, 'too short', 'x'.repeat(257)]) {
      const weak = await finish({ ...(password === undefined ? {} : { password }), code: totpAt(secret, ctx.app.clock.now()) });
      expect(weak.status, String(password)).toBe(400);
      expect(weak.body.error.param).toBe('password');
    }
    const done = await finish({ password: TEST_PASSWORD, code: totpAt(secret, ctx.app.clock.now()) });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ state: 'authenticated', admin: { id: created.admin.id, role: 'operator', totp_enrolled: true } });
    expect(done.body.recovery_codes).toHaveLength(10);
    expect(done.headers.get('set-cookie')).toMatch(/^__Host-gr_session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    expect((await client.request('GET', '/admin/api/admin/models')).status).toBe(200);
    // Used: unknown from now on, like any token.
    const reused = await client.request('POST', '/admin/api/auth/enroll/start', { body: { token } });
    expect(reused.status).toBe(404);
    expect(reused.body.error.code).toBe('not_found');
    expect((await client.request('POST', '/admin/api/auth/enroll/finish', { body: { token, password: TEST_PASSWORD, code: '123456' } })).status).toBe(404);
    const row = (await ctx.app.deps.db.query<any>('SELECT status, totp_secret_encrypted, password_hash FROM admins WHERE id = $1', [created.admin.id])).rows[0];
    expect(row.status).toBe('active');
    expect(row.totp_secret_encrypted).toMatch(/^v1\./);
    expect(row.totp_secret_encrypted).not.toContain(secret);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await auditOf(created.admin.id)).map((entry) => [entry.actor, entry.action])).toEqual([
      ['system:cli', 'admin.invite'], [created.admin.email, 'admin.enroll'],
    ]);
    // The enrollment code's step counts as used: the same code cannot sign in.
    const login = new ConsoleClient(ctx.app);
    await login.session();
    await login.request('POST', '/admin/api/auth/login', { body: { email: created.admin.email, password: TEST_PASSWORD } });
    expect((await login.request('POST', '/admin/api/auth/totp', { body: { code: totpAt(secret, ctx.app.clock.now()) } })).status).toBe(401);
  });

  it('expires after 24 hours; a new link replaces the old one; unknown tokens are 404', async () => {
    const first = await createAdminWithLink(ctx.app.deps, { email: `late-${Date.now()}@example.com`, role: 'viewer' });
    const client = new ConsoleClient(ctx.app);
    await client.session();
    // The pre-session is refreshed first: a day is far past its idle timeout.
    const start = async (token: string) => {
      await client.session();
      return client.request('POST', '/admin/api/auth/enroll/start', { body: { token } });
    };
    ctx.app.clock.advance(24 * 3_600_000 - 1_000);
    expect((await start(tokenOf(first.url))).status).toBe(200);
    ctx.app.clock.advance(1_000);
    expect((await start(tokenOf(first.url))).status).toBe(404);
    const second = await createAdminWithLink(ctx.app.deps, { email: first.admin.email, role: 'viewer' });
    expect(second.reissued).toBe(true);
    const third = await createAdminWithLink(ctx.app.deps, { email: first.admin.email, role: 'viewer' });
    expect((await start(tokenOf(second.url))).status).toBe(404);
    expect((await start(tokenOf(third.url))).status).toBe(200);
    for (const token of ['nope', 'A'.repeat(43), `${tokenOf(third.url)}x`]) expect((await start(token)).status, token).toBe(404);
    const invalid = await client.request('POST', '/admin/api/auth/enroll/start', { body: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.param).toBe('token');
  });
});

describe('password change (A7)', () => {
  it('revokes every other session of the admin and rotates the current one', async () => {
    const admin = await enrolledAdmin(ctx.app, 'operator');
    const other = new ConsoleClient(ctx.app);
    await other.login(admin.email, TEST_PASSWORD, admin.secret);
    const client = admin.client;
    const before = { cookie: client.cookie, csrf: client.csrf };
    const wrong = await client.request('POST', '/admin/api/auth/password', { body: { current_password: 'not my password', new_password: 'a brand new password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_credentials', param: 'current_password' });
    const weak = await client.request('POST', '/admin/api/auth/password', { body: { current_password: TEST_PASSWORD, new_password: 'short' } });
    expect(weak.body.error).toMatchObject({ code: 'invalid_request', param: 'new_password' });
    expect((await other.request('GET', '/admin/api/admin/models')).status).toBe(200);
    const changed = await client.request('POST', '/admin/api/auth/password', { body: { current_password: TEST_PASSWORD, new_password: 'a brand new password' } });
    expect(changed.status).toBe(204);
    expect(client.cookie).not.toBe(before.cookie);
    expect((await other.request('GET', '/admin/api/admin/models')).status).toBe(401);
    // The rotated session works; its new CSRF token comes from the session route.
    const session = await client.session();
    expect(session.body.state).toBe('authenticated');
    expect(session.body.csrf_token).not.toBe(before.csrf);
    expect((await client.request('POST', '/admin/api/public/customers', { body: { name: 'after the change' } })).status).toBe(201);
    const old = new ConsoleClient(ctx.app);
    await old.session();
    expect((await old.request('POST', '/admin/api/auth/login', { body: { email: admin.email, password: TEST_PASSWORD } })).status).toBe(401);
    await old.login(admin.email, 'a brand new password', admin.secret);
    expect((await auditOf(admin.id)).filter((entry) => entry.action === 'admin.password_change')).toEqual([
      { actor: admin.email, action: 'admin.password_change', before: null, after: { sessions_revoked: 2 } },
    ]);
  });
});

describe('admin management (owners)', () => {
  it('invites, changes roles and disables; each change revokes the admin\'s sessions and is audited', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const email = `invited-${Date.now()}@example.com`;
    const invited = await owner.client.request('POST', '/admin/api/admins', { body: { email, role: 'viewer' } });
    expect(invited.status, invited.text).toBe(201);
    expect(invited.body.admin).toMatchObject({ email, role: 'viewer', status: 'pending', totp_enrolled: false, last_login_at: null });
    expect(new Date(invited.body.enrollment_expires_at).getTime() - ctx.app.clock.now().getTime()).toBe(24 * 3_600_000);
    tokenOf(invited.body.enrollment_url);
    const duplicate = await owner.client.request('POST', '/admin/api/admins', { body: { email: email.toUpperCase(), role: 'viewer' } });
    expect(duplicate.status).toBe(409);
    for (const [body, param] of [[{ email: 'not-an-email', role: 'viewer' }, 'email'], [{ email: 'a@b.c', role: 'root' }, 'role'], [{ email: 'a@b.c' }, 'role'], [{ email: 'a@b.c', role: 'viewer', extra: 1 }, 'extra']] as const) {
      const bad = await owner.client.request('POST', '/admin/api/admins', { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.param, JSON.stringify(body)).toBe(param);
    }
    const member = await enrolledAdmin(ctx.app, 'viewer');
    const promoted = await owner.client.request('PATCH', `/admin/api/admins/${member.id}`, { body: { role: 'operator' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ id: member.id, role: 'operator', status: 'active' });
    expect((await member.client.request('GET', '/admin/api/admin/models')).status).toBe(401);
    const relogged = new ConsoleClient(ctx.app);
    await relogged.login(member.email, TEST_PASSWORD, member.secret);
    expect((await relogged.request('POST', '/admin/api/public/customers', { body: { name: 'by the promoted' } })).status).toBe(201);
    const disabled = await owner.client.request('PATCH', `/admin/api/admins/${member.id}`, { body: { disabled: true } });
    expect(disabled.body.status).toBe('disabled');
    expect((await relogged.request('GET', '/admin/api/admin/models')).status).toBe(401);
    const refused = new ConsoleClient(ctx.app);
    await refused.session();
    expect((await refused.request('POST', '/admin/api/auth/login', { body: { email: member.email, password: TEST_PASSWORD } })).status).toBe(401);
    expect((await owner.client.request('PATCH', `/admin/api/admins/${member.id}`, { body: { disabled: false } })).body.status).toBe('active');
    expect((await owner.client.request('PATCH', '/admin/api/admins/adm_0000000000000000000000', { body: { role: 'viewer' } })).status).toBe(404);
    expect((await owner.client.request('PATCH', `/admin/api/admins/${member.id}`, { body: { role: 'god' } })).body.error.param).toBe('role');
    const actions = (await auditOf(member.id)).map((entry) => [entry.actor, entry.action, entry.after?.sessions_revoked ?? null]);
    expect(actions).toEqual(expect.arrayContaining([
      [owner.email, 'admin.update', 1], [owner.email, 'admin.update', 1], [owner.email, 'admin.update', 0],
    ]));
  });

  it('an owner cannot change or disable themselves, and the last active owner stays', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const self = await owner.client.request('PATCH', `/admin/api/admins/${owner.id}`, { body: { role: 'viewer' } });
    expect(self.status).toBe(409);
    expect((await owner.client.request('PATCH', `/admin/api/admins/${owner.id}`, { body: { disabled: true } })).status).toBe(409);
    // Unchanged values are not a change.
    expect((await owner.client.request('PATCH', `/admin/api/admins/${owner.id}`, { body: { role: 'owner' } })).status).toBe(200);
    const second = await enrolledAdmin(ctx.app, 'owner');
    expect((await second.client.request('PATCH', `/admin/api/admins/${owner.id}`, { body: { role: 'operator' } })).status).toBe(200);
    const owners = (await ctx.app.deps.db.query<any>("SELECT id FROM admins WHERE role = 'owner' AND status = 'active'")).rows.map((row) => row.id);
    expect(owners).toContain(second.id);
    // Demoting every other active owner leaves the caller; the caller cannot remove themselves.
    for (const id of owners.filter((id: string) => id !== second.id)) {
      expect((await second.client.request('PATCH', `/admin/api/admins/${id}`, { body: { role: 'viewer' } })).status).toBe(200);
    }
    expect((await second.client.request('PATCH', `/admin/api/admins/${second.id}`, { body: { role: 'viewer' } })).status).toBe(409);
    const remaining = (await ctx.app.deps.db.query<any>("SELECT id FROM admins WHERE role = 'owner' AND status = 'active'")).rows;
    expect(remaining).toEqual([{ id: second.id }]);
  });

  it('reset-totp clears the authenticator, revokes sessions and re-enrolls with the same password', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const member = await enrolledAdmin(ctx.app, 'operator');
    const reset = await owner.client.request('POST', `/admin/api/admins/${member.id}/reset-totp`);
    expect(reset.status).toBe(200);
    expect(Object.keys(reset.body).sort()).toEqual(['enrollment_expires_at', 'enrollment_url']);
    expect((await member.client.request('GET', '/admin/api/admin/models')).status).toBe(401);
    const listed = (await owner.client.request('GET', '/admin/api/admins')).body.data.find((row: any) => row.id === member.id);
    expect(listed).toMatchObject({ status: 'pending', totp_enrolled: false });
    const client = new ConsoleClient(ctx.app);
    await client.session();
    // Pending: the password alone does not sign in.
    expect((await client.request('POST', '/admin/api/auth/login', { body: { email: member.email, password: TEST_PASSWORD } })).status).toBe(401);
    const token = tokenOf(reset.body.enrollment_url);
    const start = await client.request('POST', '/admin/api/auth/enroll/start', { body: { token } });
    expect(start.body.password_required).toBe(false);
    const withPassword = await client.request('POST', '/admin/api/auth/enroll/finish', { body: { token, password: 'a new password here', code: totpAt(start.body.secret, ctx.app.clock.now()) } });
    expect(withPassword.body.error.param).toBe('password');
    const done = await client.request('POST', '/admin/api/auth/enroll/finish', { body: { token, code: totpAt(start.body.secret, ctx.app.clock.now()) } });
    expect(done.status, done.text).toBe(200);
    expect(done.body.recovery_codes).toHaveLength(10);
    // The old recovery codes are gone with the old authenticator.
    const fresh = new ConsoleClient(ctx.app);
    await fresh.session();
    await fresh.request('POST', '/admin/api/auth/login', { body: { email: member.email, password: TEST_PASSWORD } });
    expect((await fresh.request('POST', '/admin/api/auth/totp', { body: { recovery_code: member.recoveryCodes[0] } })).status).toBe(401);
    expect((await fresh.request('POST', '/admin/api/auth/totp', { body: { recovery_code: done.body.recovery_codes[0] } })).status).toBe(200);
    expect((await owner.client.request('POST', '/admin/api/admins/adm_0000000000000000000000/reset-totp')).status).toBe(404);
    expect((await auditOf(member.id)).map((entry) => entry.action)).toEqual(expect.arrayContaining(['admin.reset_totp', 'admin.enroll']));
  });
});

describe('sessions', () => {
  it('owners list and revoke any session; others see and revoke only their own', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const operator = await enrolledAdmin(ctx.app, 'operator');
    const mine = await owner.client.request('GET', `/admin/api/sessions?admin_id=${owner.id}`);
    expect(mine.status).toBe(200);
    expect(mine.body.data).toEqual([expect.objectContaining({ admin_id: owner.id, email: owner.email, state: 'authenticated', current: true, ip: expect.any(String) })]);
    const publicId = mine.body.data[0].id;
    expect(publicId).toMatch(/^ses_/);
    expect(publicId).not.toContain(owner.client.cookie);
    const all = await owner.client.request('GET', '/admin/api/sessions');
    expect(all.body.data.map((row: any) => row.admin_id)).toEqual(expect.arrayContaining([owner.id, operator.id]));
    const own = await operator.client.request('GET', '/admin/api/sessions');
    expect(own.body.data.every((row: any) => row.admin_id === operator.id)).toBe(true);
    expect((await operator.client.request('GET', `/admin/api/sessions?admin_id=${owner.id}`)).status).toBe(403);
    // Another admin's session is "not found" for a non-owner, exactly like an unknown id.
    const foreign = await operator.client.request('DELETE', `/admin/api/sessions/${publicId}`);
    const unknown = await operator.client.request('DELETE', '/admin/api/sessions/ses_0000000000000000000000');
    expect(foreign.status).toBe(404);
    expect({ ...foreign.body.error, request_id: null }).toEqual({ ...unknown.body.error, request_id: null });
    expect((await owner.client.request('GET', '/admin/api/admin/models')).status).toBe(200);
    // The owner revokes the operator's session.
    const target = own.body.data[0].id;
    expect((await owner.client.request('DELETE', `/admin/api/sessions/${target}`)).status).toBe(204);
    expect((await operator.client.request('GET', '/admin/api/admin/models')).status).toBe(401);
    expect((await auditOf(operator.id)).at(-1)).toMatchObject({ actor: owner.email, action: 'admin_session.revoke', after: { session: target } });
    // Revoking one's own current session signs out.
    const revokeSelf = await owner.client.request('DELETE', `/admin/api/sessions/${publicId}`);
    expect(revokeSelf.status).toBe(204);
    expect(owner.client.lastSetCookie).toContain('Max-Age=0');
    expect((await owner.client.request('GET', '/admin/api/admin/models')).status).toBe(401);
  });
});
