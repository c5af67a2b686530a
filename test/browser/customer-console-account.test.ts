import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolledAdmin, totpAt } from '../harness/console.js';
import { CUSTOMER_PASSWORD, lastMail, signedUpUser } from '../harness/customer-console.js';
import { runUntilDone } from '../harness/flows.js';
import { POLL, pageFetch, signIn as signInAdmin, useConsoleApp } from './harness.js';

/**
 * The customer console's account pages in real Chromium (issue 12): two-step sign-in turned on with a code computed
 * (otpauth) from the secret the page shows, signing in with a code and with a recovery code, turned off with the
 * password; an API key rotated with a grace period (the old key `rotating` beside the new one, both working until the
 * grace ends); a webhook endpoint added, its secret rotated, deleted; a callback delivery in the deliveries log and
 * its retry button; the team: an invitation (the link also in the mail outbox), the member's sign-up through it, what
 * a member is offered (and what the server refuses a member), and the owner's role change; a task's status timeline
 * and the empty spend chart; the operator's invitation and mail outbox on the operator console's Settings page.
 * Customers are made through the console's JSON routes (harness/customer-console.ts); everything after is the page.
 */
const ctx = useConsoleApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32', SIGNUP_TEST_CREDITS: '50000' } });

/** A webhook receiver on loopback: `/callback` answers `callbackStatus`, anything else 204. */
let receiver: Server;
let hookBase = '';
let callbackStatus = 410;
const hooks: { path: string; status: number }[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const status = request.url?.startsWith('/callback') ? callbackStatus : 204;
      hooks.push({ path: request.url ?? '', status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

/** The sign-in page's password step (opens /console/login unless the page is there). */
async function signIn(page: Page, email: string, password = CUSTOMER_PASSWORD): Promise<void> {
  if (new URL(page.url()).pathname !== '/console/login') await page.goto(ctx.url('/console/login'));
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signedInPage(email: string): Promise<Page> {
  const { page } = await ctx.newPage();
  await signIn(page, email);
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  return page;
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.pathname === '/console/login');
}

async function goToNav(page: Page, label: string, heading = label): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** A JSON call from inside the page, with the customer session's CSRF token on writes. */
function consoleFetch(page: Page, method: string, path: string, body?: unknown) {
  return pageFetch(page, method, path, { body, csrf: method !== 'GET', sessionPath: '/console/api/auth/session' });
}

async function auditActions(targetId: string): Promise<{ action: string; actor: string; after: any }[]> {
  const response = await ctx.app.request('GET', `/api/admin/audit?target_id=${targetId}`, { operator: true });
  expect(response.status, response.text).toBe(200);
  return (response.body.data as { action: string; actor: string; after: any }[]).reverse();
}

describe('the customer console: account, keys, webhooks and team', () => {
  it('two-step sign-in: on with a code from the secret shown; sign-in asks for a code or takes a recovery code; off with the password', async () => {
    const owner = await signedUpUser(ctx.app);
    const page = await signedInPage(owner.email);
    await goToNav(page, 'Account & team');
    const section = page.getByRole('region', { name: /^Two-step sign-in/ });
    await section.getByText('off', { exact: true }).waitFor();

    // Turn on: the QR code and the secret as text; a wrong code is refused on its field; the right one (computed from
    // the secret on the page, at the app's clock) turns it on and shows ten recovery codes once.
    await section.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    const enroll = page.getByRole('dialog', { name: 'Turn on two-step sign-in' });
    await enroll.getByRole('button', { name: 'Show the QR code' }).click();
    await enroll.locator('.qr svg').waitFor();
    const secret = ((await enroll.locator('.secret-text').textContent()) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const wrong = totpAt(secret, ctx.app.clock.now()) === '000000' ? '111111' : '000000';
    await enroll.getByLabel('Authentication code').fill(wrong);
    await enroll.getByRole('button', { name: 'Turn on', exact: true }).click();
    await enroll.getByText('The code does not match the authenticator secret').waitFor();
    await enroll.getByLabel('Authentication code').fill(totpAt(secret, ctx.app.clock.now()));
    await enroll.getByRole('button', { name: 'Turn on', exact: true }).click();
    const listed = enroll.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await listed.first().waitFor();
    const recoveryCodes = await listed.allTextContents();
    expect(recoveryCodes).toHaveLength(10);
    await enroll.getByRole('button', { name: 'I have saved them' }).click();
    await section.getByText('on', { exact: true }).waitFor();
    const stored = (await ctx.app.deps.db.query<{ totp_secret_encrypted: string | null }>('SELECT totp_secret_encrypted FROM customer_users WHERE id = $1', [owner.userId])).rows[0]!;
    expect(stored.totp_secret_encrypted).not.toBeNull();
    expect(stored.totp_secret_encrypted).not.toContain(secret);

    // Sign-in now asks for a code after the password: a wrong one is refused, a fresh step's code signs in.
    await signOut(page);
    await signIn(page, owner.email);
    await page.getByLabel('Authentication code').waitFor();
    await page.getByLabel('Authentication code').fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That code is not valid.').waitFor();
    ctx.app.clock.advance(30_000);
    await page.getByLabel('Authentication code').fill(totpAt(secret, ctx.app.clock.now()));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    // Or a recovery code instead, once.
    await signOut(page);
    await signIn(page, owner.email);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[3]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const used = await ctx.app.deps.db.query('SELECT 1 FROM customer_recovery_codes WHERE user_id = $1 AND used_at IS NOT NULL', [owner.userId]);
    expect(used.rows).toHaveLength(1);

    // Turn off: the password is asked again (a wrong one is refused on its field).
    await goToNav(page, 'Account & team');
    await section.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
    const disable = page.getByRole('dialog', { name: 'Turn off two-step sign-in' });
    await disable.getByLabel('Password').fill('not the password at all');
    await disable.getByRole('button', { name: 'Turn off', exact: true }).click();
    await disable.getByText('The password is not correct').waitFor();
    await disable.getByLabel('Password').fill(CUSTOMER_PASSWORD);
    await disable.getByRole('button', { name: 'Turn off', exact: true }).click();
    await section.getByText('off', { exact: true }).waitFor();
    expect((await ctx.app.deps.db.query('SELECT 1 FROM customer_recovery_codes WHERE user_id = $1', [owner.userId])).rows).toHaveLength(0);

    // The password alone signs in again.
    await signOut(page);
    await signIn(page, owner.email);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();

    const signIns = (await auditActions(owner.userId)).filter((row) => row.action === 'customer_user.login' || row.action.startsWith('customer_user.totp_'));
    expect(signIns.map((row) => (row.action === 'customer_user.login' ? `login:${row.after.method}` : row.action))).toEqual([
      'login:password',
      'customer_user.totp_enable',
      'login:totp',
      'login:recovery_code',
      'customer_user.totp_disable',
      'login:password',
    ]);
  });

  it('a key rotated with a grace period: the old key is `rotating` beside the new one, both work until the grace ends', async () => {
    const owner = await signedUpUser(ctx.app);
    const page = await signedInPage(owner.email);
    await goToNav(page, 'API keys');
    await page.getByRole('button', { name: 'Create a key' }).click();
    const create = page.getByRole('dialog', { name: 'Create an API key' });
    await create.getByLabel('Name').fill('deploy key');
    await create.getByRole('button', { name: 'Create the key' }).click();
    const shown = page.getByRole('dialog', { name: 'Key created' });
    const oldKey = await shown.getByLabel('API key').inputValue();
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    const keyRows = () => ctx.app.deps.db.query<{ id: string; key_prefix: string; rotated_from: string | null; expires_at: Date | null }>(
      'SELECT id, key_prefix, rotated_from, expires_at FROM api_keys WHERE customer_id = $1 ORDER BY rotated_from IS NOT NULL, created_at, id', [owner.customerId],
    );
    const [old] = (await keyRows()).rows;
    expect(oldKey.startsWith(old!.key_prefix)).toBe(true);
    const oldRow = page.getByRole('row').filter({ hasText: old!.key_prefix });
    await oldRow.getByText('active', { exact: true }).waitFor();

    // Rotate with one hour of grace: the new secret is shown once; the list holds both.
    await oldRow.getByRole('button', { name: /^Rotate deploy key/ }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate this key' });
    await rotate.getByLabel('Grace period').selectOption('3600');
    await rotate.getByRole('button', { name: 'Rotate', exact: true }).click();
    const newKey = await shown.getByLabel('API key').inputValue();
    expect(newKey).not.toBe(oldKey);
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    const rows = (await keyRows()).rows;
    expect(rows).toHaveLength(2);
    const fresh = rows[1]!;
    expect(fresh.rotated_from).toBe(old!.id);
    expect(newKey.startsWith(fresh.key_prefix)).toBe(true);
    expect(rows[0]!.expires_at!.getTime()).toBe(ctx.app.clock.now().getTime() + 3_600_000);
    const newRow = page.getByRole('row').filter({ hasText: fresh.key_prefix });
    await oldRow.getByText('rotating', { exact: true }).waitFor();
    await newRow.getByText('active', { exact: true }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'deploy key' }).count()).toBe(2);
    // The rotating key can be revoked but not rotated again; the new one can be either.
    expect(await oldRow.getByRole('button', { name: /^Rotate/ }).count()).toBe(0);
    await oldRow.getByRole('button', { name: /^Revoke deploy key/ }).waitFor();
    await newRow.getByRole('button', { name: /^Rotate deploy key/ }).waitFor();
    expect(await page.content()).not.toContain(newKey);

    // Both keys work during the grace period.
    for (const key of [oldKey, newKey]) expect((await ctx.app.request('GET', '/v1/models', { key })).status).toBe(200);

    // After it, the old key is refused and listed as expired.
    ctx.app.clock.advance(3_600_000 + 1000);
    expect((await ctx.app.request('GET', '/v1/models', { key: oldKey })).status).toBe(401);
    expect((await ctx.app.request('GET', '/v1/models', { key: newKey })).status).toBe(200);
    // (The console session idled out meanwhile: the page asks for a sign-in and comes back to the keys.)
    await page.reload();
    await page.waitForURL((url) => url.pathname === '/console/login');
    await signIn(page, owner.email);
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await oldRow.getByText('expired', { exact: true }).waitFor();
    await newRow.getByText('active', { exact: true }).waitFor();
    expect(await oldRow.getByRole('button').count()).toBe(0);
    expect((await auditActions(old!.id)).map((row) => row.action)).toEqual(['api_key.create', 'api_key.rotate']);
  });

  it('webhooks: an endpoint added (secret once), its secret rotated, deleted; a callback delivery in the log, retried from its button', async () => {
    const owner = await signedUpUser(ctx.app);
    const page = await signedInPage(owner.email);
    await page.goto(ctx.url('/console/webhooks?mode=test'));
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    const endpoints = page.getByRole('region', { name: 'Endpoints (test)' });
    await endpoints.getByText('No test endpoints yet.').waitFor();

    // Add: the endpoint's signing secret is shown once.
    const url = `${hookBase}/endpoint`;
    await endpoints.getByRole('button', { name: 'Add an endpoint' }).click();
    const add = page.getByRole('dialog', { name: 'Add a test endpoint' });
    await add.getByLabel('URL').fill(url);
    await add.getByLabel('Description').fill('render hooks');
    await add.getByRole('button', { name: 'Add the endpoint' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Endpoint signing secret' });
    const first = await secretDialog.getByLabel('Signing secret').inputValue();
    expect(first).toMatch(/^whsec_/);
    await secretDialog.getByRole('button', { name: 'I have copied it' }).click();
    const row = endpoints.getByRole('row').filter({ hasText: url });
    await row.getByText('render hooks').waitFor();
    await row.getByText('enabled', { exact: true }).waitFor();
    const stored = (await ctx.app.deps.db.query<{ id: string; mode: string; url: string }>('SELECT id, mode, url FROM webhook_endpoints WHERE customer_id = $1', [owner.customerId])).rows;
    expect(stored).toEqual([{ id: expect.any(String), mode: 'test', url }]);
    expect(await page.content()).not.toContain(first);

    // Rotate its secret: a new one, shown once.
    await row.getByRole('button', { name: `Rotate the secret of ${url}` }).click();
    const second = await secretDialog.getByLabel('Signing secret').inputValue();
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    await secretDialog.getByRole('button', { name: 'I have copied it' }).click();

    // Delete it.
    await row.getByRole('button', { name: `Delete ${url}` }).click();
    await page.getByRole('dialog', { name: 'Delete this endpoint?' }).getByRole('button', { name: 'Delete', exact: true }).click();
    await endpoints.getByText('No test endpoints yet.').waitFor();
    expect((await ctx.app.deps.db.query("SELECT 1 FROM webhook_endpoints WHERE customer_id = $1 AND status = 'enabled'", [owner.customerId])).rows).toHaveLength(0);

    // A task with a callback_url whose receiver answers 410: the delivery ends (cancelled) after one attempt.
    const key = await ctx.app.createKey(owner.customerId, { mode: 'test' });
    callbackStatus = 410;
    const task = await ctx.app.request('POST', '/v1/music/generations', { key: key.key, body: { prompt: 'a calm piano piece', callback_url: `${hookBase}/callback` } });
    expect(task.status, task.text).toBe(202);
    expect((await runUntilDone(ctx.app, task.body.id)).status).toBe('succeeded');
    await ctx.app.worker.drain();
    expect(hooks.filter((hook) => hook.path === '/callback')).toEqual([{ path: '/callback', status: 410 }]);

    await page.reload();
    const deliveries = page.getByRole('region', { name: 'Deliveries (test)' });
    const delivery = deliveries.getByRole('row').filter({ hasText: 'task.succeeded' });
    await delivery.getByText('cancelled', { exact: true }).waitFor();
    const cells = async () => (await delivery.getByRole('cell').allTextContents()).map((text) => text.trim());
    expect(await cells()).toEqual(expect.arrayContaining(['410', '1']));
    expect(await delivery.textContent()).toContain(task.body.id);

    // Retry: pending at once, then delivered (the receiver answers 204 now); the page follows it by itself.
    callbackStatus = 204;
    await delivery.getByRole('button', { name: 'Retry the delivery of task.succeeded' }).click();
    await delivery.getByText('pending', { exact: true }).waitFor();
    expect(await delivery.getByRole('button', { name: /^Retry/ }).count()).toBe(0);
    await ctx.app.worker.deliverOnce();
    expect(hooks.filter((hook) => hook.path === '/callback').map((hook) => hook.status)).toEqual([410, 204]);
    await delivery.getByText('delivered', { exact: true }).waitFor({ timeout: POLL.timeout });
    expect(await cells()).toEqual(expect.arrayContaining(['204', '2']));
    const [stored2] = await ctx.app.deps.webhooks.deliveriesOf(task.body.id);
    expect(stored2?.status).toBe('delivered');
    const retried = await auditActions(stored2!.id);
    expect(retried.map((entry) => [entry.action, entry.actor])).toEqual([['webhook_delivery.retry', `customer_user:${owner.email}`]]);
  });

  it('team: an invitation (link shown and mailed), the member signs up through it, sees no owner-only action (and is refused them), the owner promotes them', async () => {
    const owner = await signedUpUser(ctx.app);
    const ownerPage = await signedInPage(owner.email);
    await goToNav(ownerPage, 'Account & team');
    const team = ownerPage.getByRole('region', { name: 'Team' });
    await team.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: owner.email }).waitFor();

    // Invite: the link is shown once and the same link is in the mail (the outbox: no SMTP_URL here).
    const email = `sam-${process.pid}@studio.example`;
    await team.getByRole('button', { name: 'Invite someone' }).click();
    const invite = ownerPage.getByRole('dialog', { name: 'Invite someone' });
    await invite.getByLabel('Email').fill(email);
    await expect.poll(() => invite.getByLabel('Role').inputValue(), POLL).toBe('member');
    await invite.getByRole('button', { name: 'Send the invitation' }).click();
    const sent = ownerPage.getByRole('dialog', { name: 'Invitation sent' });
    const link = await sent.getByLabel('Invitation link').inputValue();
    const mail = await lastMail(ctx.app, email);
    expect(mail).toMatchObject({ kind: 'invitation', link });
    expect(link.startsWith(`${ctx.app.deps.config.publicBaseUrl}/console/signup#invite=`)).toBe(true);
    await sent.getByRole('button', { name: 'Done' }).click();
    const invitations = team.getByRole('table', { name: 'Open invitations' });
    await invitations.getByRole('row').filter({ hasText: email }).getByText('member', { exact: true }).waitFor();

    // The member opens the mailed link in their own browser and signs up: straight in, verified, in the owner's team.
    const { page: memberPage } = await ctx.newPage();
    const linkUrl = new URL(mail!.link);
    await memberPage.goto(ctx.url(`${linkUrl.pathname}${linkUrl.hash}`));
    await memberPage.getByRole('heading', { name: 'Accept your invitation', level: 1 }).waitFor();
    expect(await memberPage.getByLabel('Company or project name').count()).toBe(0);
    await memberPage.getByLabel('Email').fill(email);
    await memberPage.getByLabel('Password').fill(CUSTOMER_PASSWORD);
    await memberPage.getByRole('button', { name: 'Create account' }).click();
    await memberPage.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await memberPage.getByText('Role: member').waitFor();
    const member = (await ctx.app.deps.db.query<{ id: string; customer_id: string; role: string; email_verified_at: Date | null }>(
      'SELECT id, customer_id, role, email_verified_at FROM customer_users WHERE email = $1', [email],
    )).rows[0]!;
    expect(member).toMatchObject({ customer_id: owner.customerId, role: 'member' });
    expect(member.email_verified_at).not.toBeNull();
    expect(await memberPage.getByText('Verify your email address').count()).toBe(0);

    // What the server keeps for owners: the team and the webhook signing secret. The member is offered neither…
    await goToNav(memberPage, 'Account & team');
    await memberPage.getByText("Only the team's owners manage members and invitations.").waitFor();
    expect(await memberPage.getByRole('button', { name: 'Invite someone' }).count()).toBe(0);
    expect(await memberPage.getByRole('table', { name: 'Members' }).count()).toBe(0);
    await goToNav(memberPage, 'Webhooks');
    await memberPage.getByText("Only the team's owners can reveal the signing secret.").waitFor();
    expect(await memberPage.getByRole('button', { name: 'Reveal the secret' }).count()).toBe(0);
    // …but keeps what members may do: keys, endpoints.
    await memberPage.getByRole('button', { name: 'Add an endpoint' }).waitFor();
    await goToNav(memberPage, 'API keys');
    await memberPage.getByRole('button', { name: 'Create a key' }).waitFor();
    // Forced from the page, the owner-only routes answer 403 forbidden and change nothing.
    const forced = [
      await consoleFetch(memberPage, 'GET', '/console/api/team'),
      await consoleFetch(memberPage, 'POST', '/console/api/team/invitations', { email: 'friend@studio.example', role: 'owner' }),
      await consoleFetch(memberPage, 'PATCH', `/console/api/team/members/${member.id}`, { role: 'owner' }),
      await consoleFetch(memberPage, 'DELETE', `/console/api/team/members/${owner.userId}`),
      await consoleFetch(memberPage, 'POST', '/console/api/webhooks/secret', { password: CUSTOMER_PASSWORD }),
    ];
    for (const answer of forced) {
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('forbidden');
    }
    expect((await ctx.app.deps.db.query("SELECT role FROM customer_users WHERE customer_id = $1 ORDER BY role", [owner.customerId])).rows).toEqual([{ role: 'member' }, { role: 'owner' }]);
    expect((await ctx.app.deps.db.query("SELECT 1 FROM email_tokens WHERE purpose = 'invitation' AND lower(email) = 'friend@studio.example'")).rows).toHaveLength(0);

    // The owner sees the member (the invitation used up) and makes them an owner.
    await ownerPage.reload();
    const memberRow = team.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: email });
    await memberRow.waitFor();
    await invitations.getByText('No open invitations.').waitFor();
    await memberRow.getByLabel(`Role of ${email}`).selectOption('owner');
    await memberRow.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await ctx.app.deps.db.query<{ role: string }>('SELECT role FROM customer_users WHERE id = $1', [member.id])).rows[0]!.role, POLL).toBe('owner');
    await expect.poll(() => memberRow.getByRole('button', { name: 'Save' }).count(), POLL).toBe(0);
    expect(await memberRow.getByLabel(`Role of ${email}`).inputValue()).toBe('owner');
    expect((await auditActions(member.id)).filter((row) => row.action === 'customer_user.role_change').map((row) => [row.actor, row.after])).toEqual([
      [`customer_user:${owner.email}`, { role: 'owner' }],
    ]);

    // The role change ended the member's sessions: the next page asks for a sign-in; after it, the owner's actions are there.
    await memberPage.goto(ctx.url('/console/account'));
    await memberPage.waitForURL((url) => url.pathname === '/console/login');
    await signIn(memberPage, email);
    await memberPage.getByRole('heading', { name: 'Account & team', level: 1 }).waitFor();
    await memberPage.getByText('Role: owner').waitFor();
    await memberPage.getByRole('button', { name: 'Invite someone' }).waitFor();
    await memberPage.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: owner.email }).waitFor();
    await goToNav(memberPage, 'Webhooks');
    await memberPage.getByRole('button', { name: 'Reveal the secret' }).waitFor();
  });
  it('task detail: every time the task keeps, in order, with the time between steps (cancelled too); an empty spend chart says so', async () => {
    const owner = await signedUpUser(ctx.app);
    const page = await signedInPage(owner.email);
    // Nothing charged yet, in either mode: a message instead of bare axes.
    await page.getByText('No spend yet').waitFor();
    expect(await page.locator('.recharts-surface').count()).toBe(0);
    await page.getByRole('group', { name: 'Mode' }).getByRole('button', { name: 'Test' }).click();
    await page.getByText('Nothing was charged to your test wallet in the last 30 days.', { exact: false }).waitFor();

    const key = await ctx.app.createKey(owner.customerId, { mode: 'test' });
    const submit = async () => {
      const created = await ctx.app.request('POST', '/v1/music/generations', { key: key.key, body: { prompt: 'a calm piano piece' } });
      expect(created.status, created.text).toBe(202);
      return created.body.id as string;
    };
    const steps = page.getByRole('list', { name: 'Status timeline' }).getByRole('listitem');
    const stepTexts = async () => (await steps.allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());

    // Queued: one step, and the page says it is still going.
    const id = await submit();
    await page.goto(ctx.url(`/console/tasks/${id}`));
    await page.getByText('Not finished yet: the next step shows here when it happens.').waitFor();
    await page.getByRole('region', { name: 'Result' }).getByText('Still queued; this page refreshes by itself.').waitFor();
    expect(await steps.count()).toBe(1);
    expect((await stepTexts())[0]).toMatch(/^queued Created .+ accepted, credits reserved, queued$/);

    // Two seconds later a worker round submits it upstream; then it finishes.
    ctx.app.clock.advance(2000);
    await ctx.app.worker.drain();
    await page.reload();
    await expect.poll(stepTexts, POLL).toEqual([expect.stringMatching(/^queued Created /), expect.stringMatching(/^submitted Submitted upstream .+ \+2\.0 s after created$/)]);
    expect((await runUntilDone(ctx.app, id)).status).toBe('succeeded');
    const task = (await ctx.app.deps.db.query<{ created_at: Date; submitted_at: Date; completed_at: Date }>('SELECT created_at, submitted_at, completed_at FROM tasks WHERE id = $1', [id])).rows[0]!;
    const seconds = (from: Date, to: Date) => `${((to.getTime() - from.getTime()) / 1000).toFixed(1)} s`;
    await page.reload();
    await expect.poll(stepTexts, POLL).toEqual([
      expect.stringMatching(/^queued Created /),
      expect.stringMatching(/^submitted Submitted upstream .+ \+2\.0 s after created$/),
      expect.stringMatching(new RegExp(`^succeeded Succeeded .+ \\+${seconds(task.submitted_at, task.completed_at).replace('.', '\\.')} after submitted upstream$`)),
    ]);
    await page.getByText(`Succeeded after ${seconds(task.created_at, task.completed_at)} in all.`).waitFor();

    // Cancelled before it was sent anywhere: created, then cancelled, three seconds apart.
    const cancelled = await submit();
    ctx.app.clock.advance(3000);
    expect((await ctx.app.request('POST', `/v1/tasks/${cancelled}/cancel`, { key: key.key })).status).toBe(200);
    await page.goto(ctx.url(`/console/tasks/${cancelled}`));
    await page.getByText('Cancelled after 3.0 s in all.').waitFor();
    expect(await stepTexts()).toEqual([expect.stringMatching(/^queued Created /), expect.stringMatching(/^cancelled Cancelled .+ \+3\.0 s after created$/)]);
  });
  it('the operator invites a customer from Settings: the link shown once and in the mail outbox; the invitee signs up as a new customer\'s owner', async () => {
    const admin = await enrolledAdmin(ctx.app, 'owner');
    const { page } = await ctx.newPage();
    await signInAdmin(page, ctx, admin);
    await page.getByRole('navigation').getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    const inviteSection = page.getByRole('region', { name: 'Invite a customer' });
    const email = `new-customer-${process.pid}@agency.example`;
    await inviteSection.getByRole('button', { name: 'Invite someone' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite a customer' });
    await dialog.getByLabel('Email').fill(email);
    await dialog.getByRole('button', { name: 'Send the invitation' }).click();
    const sent = page.getByRole('dialog', { name: 'Invitation sent' });
    const link = await sent.getByLabel('Invitation link').inputValue();
    expect(link.startsWith(`${ctx.app.deps.config.publicBaseUrl}/console/signup#invite=`)).toBe(true);
    await sent.getByRole('button', { name: 'Done' }).click();
    // The same link, kept in the outbox (no SMTP_URL), listed newest first with a copy button.
    const outbox = page.getByRole('region', { name: 'Mail outbox' });
    const mailRow = outbox.getByRole('row').filter({ hasText: email });
    await mailRow.getByText('invitation', { exact: true }).waitFor();
    expect(await mailRow.textContent()).toContain(link);
    await mailRow.getByRole('button', { name: `Copy the invitation link for ${email}` }).waitFor();
    expect((await lastMail(ctx.app, email))?.link).toBe(link);

    // The invitee: a new customer of their own, its owner, the address verified by the invitation.
    const { page: invitee } = await ctx.newPage();
    const url = new URL(link);
    await invitee.goto(ctx.url(`${url.pathname}${url.hash}`));
    await invitee.getByRole('heading', { name: 'Accept your invitation', level: 1 }).waitFor();
    await invitee.getByLabel('Email').fill(email);
    await invitee.getByLabel('Password').fill(CUSTOMER_PASSWORD);
    await invitee.getByRole('button', { name: 'Create account' }).click();
    await invitee.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await invitee.getByText('Role: owner').waitFor();
    const user = (await ctx.app.deps.db.query<{ role: string; email_verified_at: Date | null; customer_id: string }>(
      'SELECT role, email_verified_at, customer_id FROM customer_users WHERE email = $1', [email],
    )).rows[0]!;
    expect(user.role).toBe('owner');
    expect(user.email_verified_at).not.toBeNull();
    expect((await ctx.app.deps.db.query('SELECT 1 FROM customer_users WHERE customer_id = $1', [user.customer_id])).rows).toHaveLength(1);
  });
});
