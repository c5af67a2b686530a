import { describe, expect, it } from 'vitest';
import { signupMode } from '../../src/modules/settings/service.js';
import { enrolledAdmin } from '../harness/console.js';
import { useTestApp } from '../harness/setup.js';

/** Operator settings (issue 11, API.md §8 "Settings"): read, changed, persisted and audited in the same transaction. */
const ctx = useTestApp();
/** The top-up settings' defaults (issue 13), part of every settings answer. */
const TOPUP_DEFAULTS = { topup_min_amount: 500, topup_max_amount: 1_000_000, topup_bonus_tiers: [] };

const settings = (method: 'GET' | 'PATCH', body?: unknown, options: { key?: string; operator?: boolean; headers?: Record<string, string> } = { operator: true }) =>
  ctx.app.request(method, '/api/admin/settings', { ...options, ...(body === undefined ? {} : { body }) });

/** The audit actor the operator key's changes are recorded under, read from a change made the usual way. */
async function operatorActor(): Promise<string> {
  const customer = await ctx.app.createCustomer();
  const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${customer.id}&action=customer.create`, { operator: true });
  return audit.body.data[0].actor;
}

const settingsAudit = async () => (await ctx.app.request('GET', '/api/admin/audit?target_type=settings&action=settings.update&limit=100', { operator: true })).body.data;

describe('operator settings', () => {
  it('signup_mode defaults to invite; a change is persisted, answered and audited with before and after', async () => {
    const initial = await settings('GET');
    expect(initial.status, initial.text).toBe(200);
    expect(initial.body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'invite' });
    expect(await signupMode(ctx.app.deps.db)).toBe('invite');

    const changed = await settings('PATCH', { signup_mode: 'open' }, { operator: true, headers: { 'user-agent': 'settings-test/1' } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'open' });
    expect((await settings('GET')).body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'open' });
    expect(await signupMode(ctx.app.deps.db)).toBe('open');
    const row = await ctx.app.deps.db.query<{ value: unknown; updated_at: Date }>(`SELECT value, updated_at FROM settings WHERE key = 'signup_mode'`);
    expect(row.rows[0]).toEqual({ value: 'open', updated_at: ctx.app.clock.now() });

    const [audit] = await settingsAudit();
    expect(audit).toMatchObject({
      actor: await operatorActor(), action: 'settings.update', target_type: 'settings', target_id: 'signup_mode',
      before: { signup_mode: 'invite' }, after: { signup_mode: 'open' }, user_agent: 'settings-test/1', ip: '127.0.0.1',
    });

    ctx.app.clock.advance(60_000);
    expect((await settings('PATCH', { signup_mode: 'closed' })).body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'closed' });
    const [latest, previous] = await settingsAudit();
    expect(previous.id).toBe(audit.id);
    expect(latest).toMatchObject({ before: { signup_mode: 'open' }, after: { signup_mode: 'closed' }, created_at: ctx.app.clock.now().toISOString() });
    expect((await settings('PATCH', { signup_mode: 'invite' })).body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'invite' });
  });

  it('concurrent changes are serialised: each audit row\'s "before" is the value the previous one set', async () => {
    const start = (await settingsAudit()).length;
    const modes = ['open', 'closed', 'invite', 'open', 'closed', 'invite'] as const;
    const answers = await Promise.all(modes.map((mode) => settings('PATCH', { signup_mode: mode })));
    for (const [index, answer] of answers.entries()) expect(answer.body, answer.text).toEqual({ ...TOPUP_DEFAULTS, signup_mode: modes[index] });
    const rows = (await settingsAudit()).slice(0, modes.length).reverse();
    expect((await settingsAudit()).length).toBe(start + modes.length);
    for (let index = 1; index < rows.length; index += 1) expect(rows[index].before).toEqual(rows[index - 1].after);
    // The stored value is the last change's.
    expect((await settings('GET')).body).toMatchObject(rows[rows.length - 1].after);
  });

  it('a stored value this version does not know reads as the default', async () => {
    await ctx.app.deps.db.query(`UPDATE settings SET value = '"members-only"'::jsonb WHERE key = 'signup_mode'`);
    expect((await settings('GET')).body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'invite' });
    expect((await settings('PATCH', { signup_mode: 'closed' })).body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'closed' });
    expect((await settingsAudit())[0]).toMatchObject({ before: { signup_mode: 'invite' }, after: { signup_mode: 'closed' } });
  });

  it('refuses a missing key, a wrong key and customer keys (401) and changes nothing', async () => {
    const before = (await settings('GET')).body;
    const auditRows = (await settingsAudit()).length;
    const customer = await ctx.app.createCustomer();
    const live = await ctx.app.createKey(customer.id, { mode: 'live' });
    const test = await ctx.app.createKey(customer.id, { mode: 'test' });
    for (const options of [{}, { key: 'wrong-operator-key-0123456789abc' }, { key: live.key }, { key: test.key }]) {
      for (const [method, body] of [['GET', undefined], ['PATCH', { signup_mode: before.signup_mode === 'open' ? 'closed' : 'open' }]] as const) {
        const response = await settings(method, body, options);
        expect(response.status, `${method} ${response.text}`).toBe(401);
        expect(response.body.error.code).toBe('invalid_api_key');
      }
    }
    expect((await settings('GET')).body).toEqual(before);
    expect((await settingsAudit()).length).toBe(auditRows);
  });

  it('bad input → 400 with param, and nothing changes', async () => {
    const before = (await settings('GET')).body;
    const auditRows = (await settingsAudit()).length;
    const cases: Array<[unknown, string]> = [
      [{ signup_mode: 'public' }, 'signup_mode'],
      [{ signup_mode: 'OPEN' }, 'signup_mode'],
      [{ signup_mode: null }, 'signup_mode'],
      [{ signup_mode: 1 }, 'signup_mode'],
      [{ signup_mode: 'open', theme: 'dark' }, 'theme'],
      [{ topup_min_amount: 0 }, 'topup_min_amount'],
      [{ topup_min_amount: 2_000_000 }, 'topup_min_amount'],
      [{ topup_max_amount: 100 }, 'topup_max_amount'],
      [{ topup_max_amount: '5000' }, 'topup_max_amount'],
      [{ topup_bonus_tiers: [{ min_amount: 1000, bonus_percent: 101 }] }, 'topup_bonus_tiers.0.bonus_percent'],
      [{ topup_bonus_tiers: [{ min_amount: 1000, bonus_percent: 5 }, { min_amount: 1000, bonus_percent: 10 }] }, 'topup_bonus_tiers'],
      [{ topup_bonus_tiers: [{ min_amount: 1000 }] }, 'topup_bonus_tiers.0.bonus_percent'],
    ];
    for (const [body, param] of cases) {
      const response = await settings('PATCH', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.param, JSON.stringify(body)).toContain(param);
    }
    const empty = await settings('PATCH', {});
    expect(empty.status, empty.text).toBe(400);
    expect(empty.body.error.code).toBe('invalid_request');
    expect((await settings('GET')).body).toEqual(before);
    expect((await settingsAudit()).length).toBe(auditRows);
  });
});

describe('top-up settings (issue 13)', () => {
  it('limits and bonus tiers are changed together, audited, and read back sorted', async () => {
    const changed = await settings('PATCH', {
      topup_min_amount: 1000, topup_max_amount: 50_000,
      topup_bonus_tiers: [{ min_amount: 20_000, bonus_percent: 10 }, { min_amount: 5000, bonus_percent: 5 }],
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ topup_min_amount: 1000, topup_max_amount: 50_000 });
    expect((await settings('GET')).body.topup_bonus_tiers).toEqual([{ min_amount: 5000, bonus_percent: 5 }, { min_amount: 20_000, bonus_percent: 10 }]);
    expect((await settingsAudit())[0]).toMatchObject({ before: { topup_min_amount: 500, topup_max_amount: 1_000_000 }, after: { topup_min_amount: 1000 } });
    expect((await settings('PATCH', TOPUP_DEFAULTS)).body).toMatchObject(TOPUP_DEFAULTS);
  });
});

describe('operator settings from the console (/admin/api)', () => {
  it('an operator\'s change is audited under the admin\'s email; a viewer reads but cannot change; no session → 401', async () => {
    const operator = await enrolledAdmin(ctx.app, 'operator');
    const changed = await operator.client.request('PATCH', '/admin/api/admin/settings', { body: { signup_mode: 'open' } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'open' });
    const byEmail = await ctx.app.request('GET', `/api/admin/audit?actor=${encodeURIComponent(operator.email)}&action=settings.update`, { operator: true });
    expect(byEmail.body.data).toHaveLength(1);
    expect(byEmail.body.data[0]).toMatchObject({ actor: operator.email, target_id: 'signup_mode', after: { signup_mode: 'open' } });

    const viewer = await enrolledAdmin(ctx.app, 'viewer');
    const read = await viewer.client.request('GET', '/admin/api/admin/settings');
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'open' });
    const refused = await viewer.client.request('PATCH', '/admin/api/admin/settings', { body: { signup_mode: 'closed' } });
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    // Without the CSRF token, even an operator's change is refused.
    const noCsrf = await operator.client.request('PATCH', '/admin/api/admin/settings', { body: { signup_mode: 'closed' }, csrf: false });
    expect(noCsrf.status, noCsrf.text).toBe(403);
    expect(noCsrf.body.error.code).toBe('csrf_failed');
    const anonymous = await ctx.app.request('GET', '/admin/api/admin/settings');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthenticated');
    expect((await settings('GET')).body).toEqual({ ...TOPUP_DEFAULTS, signup_mode: 'open' });
  });
});
