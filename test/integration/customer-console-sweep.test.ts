import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/http/server.js';
import { OPERATOR_KEY, type TestResponse } from '../harness/app.js';
import { runUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';
import { CUSTOMER_PASSWORD, CustomerClient, lastMail, signedUpUser, type SignedUpUser } from '../harness/customer-console.js';

/**
 * The customer console sweep (issue 12), generated from the app's own route table like route-sweep.test.ts: every
 * route under `/console/api/` must be placed in ACCESS below (an unplaced one fails the first test). Then:
 * - without a session (with or without any bearer key) → 401 `unauthenticated` (sign-in steps: 403 `csrf_failed`);
 * - for every id parameter, another customer's object → 404, answered exactly like an unknown id, and afterwards
 *   the other customer's objects are unchanged; the caller's own object of the same kind gets through (control);
 * - owner-only routes → 403 `forbidden` for a member;
 * - an unknown body field → 400 `unknown_parameter` with its `param`; a bad `mode` query → 400 with `param: mode`.
 */
// USDT on one EVM address, so top-up orders exist (creating one reads no chain).
const ctx = useTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32', USDT_EVM_ADDRESSES: '0x3333333333333333333333333333333333333333', EVM_RPC_URL: 'http://127.0.0.1:9/evm' } });

type Access = 'public' | 'sign-in step' | 'signed in' | 'owner';
const ACCESS: Record<string, Access> = {
  'GET /console/api/auth/session': 'public',
  'POST /console/api/auth/signup': 'sign-in step',
  'POST /console/api/auth/verify': 'sign-in step',
  'POST /console/api/auth/login': 'sign-in step',
  'POST /console/api/auth/totp': 'sign-in step',
  'POST /console/api/auth/logout': 'sign-in step',
  'POST /console/api/auth/password-reset': 'sign-in step',
  'POST /console/api/auth/password-reset/confirm': 'sign-in step',
  'POST /console/api/auth/verify/resend': 'signed in',
  'POST /console/api/account/password': 'signed in',
  'POST /console/api/account/totp/start': 'signed in',
  'POST /console/api/account/totp/confirm': 'signed in',
  'DELETE /console/api/account/totp': 'signed in',
  'GET /console/api/overview': 'signed in',
  'GET /console/api/usage': 'signed in',
  'GET /console/api/tasks': 'signed in',
  'GET /console/api/tasks/:id': 'signed in',
  'GET /console/api/billing/ledger': 'signed in',
  'GET /console/api/models': 'signed in',
  'GET /console/api/keys': 'signed in',
  'POST /console/api/keys': 'signed in',
  'POST /console/api/keys/:id/revoke': 'signed in',
  'POST /console/api/keys/:id/rotate': 'signed in',
  'POST /console/api/webhooks/secret': 'owner',
  'GET /console/api/webhooks/endpoints': 'signed in',
  'POST /console/api/webhooks/endpoints': 'signed in',
  'DELETE /console/api/webhooks/endpoints/:id': 'signed in',
  'POST /console/api/webhooks/endpoints/:id/rotate-secret': 'signed in',
  'GET /console/api/webhooks/deliveries': 'signed in',
  'POST /console/api/webhooks/deliveries/:id/retry': 'signed in',
  'GET /console/api/team': 'owner',
  'POST /console/api/team/invitations': 'owner',
  'DELETE /console/api/team/invitations/:id': 'owner',
  'PATCH /console/api/team/members/:id': 'owner',
  'DELETE /console/api/team/members/:id': 'owner',
  'GET /console/api/billing/topup-options': 'signed in',
  'POST /console/api/billing/topups': 'signed in',
  'GET /console/api/billing/topups': 'signed in',
  'GET /console/api/billing/topups/:id': 'signed in',
};
type Kind = 'api_key' | 'task' | 'webhook_endpoint' | 'webhook_delivery' | 'invitation' | 'member' | 'topup';
const PARAM_KINDS: Array<{ url: RegExp; kind: Kind }> = [
  { url: /^\/console\/api\/keys\/:id/, kind: 'api_key' },
  { url: /^\/console\/api\/tasks\/:id/, kind: 'task' },
  { url: /^\/console\/api\/webhooks\/endpoints\/:id/, kind: 'webhook_endpoint' },
  { url: /^\/console\/api\/webhooks\/deliveries\/:id/, kind: 'webhook_delivery' },
  { url: /^\/console\/api\/team\/invitations\/:id/, kind: 'invitation' },
  { url: /^\/console\/api\/team\/members\/:id/, kind: 'member' },
  { url: /^\/console\/api\/billing\/topups\/:id/, kind: 'topup' },
];
const BODIES: Record<string, Record<string, unknown>> = {
  'POST /console/api/keys/:id/rotate': { grace_seconds: 0 },
  'PATCH /console/api/team/members/:id': { role: 'member' },
};

interface Party {
  user: SignedUpUser;
  member: SignedUpUser & { memberId: string };
  testKey: string;
  objects: Record<Kind, string>;
}

let receiver: Server;
let hookUrl = '';
let A: Party;
let B: Party;

function consoleRoutes(): RouteEntry[] {
  return ctx.app.app.routeTable.filter((route) => route.url.startsWith('/console/api/'));
}

function kindOf(url: string): Kind | undefined {
  return PARAM_KINDS.find((entry) => entry.url.test(url))?.kind;
}

const withoutRequestId = (body: any) => ({ ...body, error: { ...body.error, request_id: null } });

/** An id of the same shape that names nothing: the random part zeroed. */
function unknownLike(id: string): string {
  return id.replace(/_([0-9A-Za-z]+)$/, (_, random: string) => `_${'0'.repeat(random.length)}`);
}

let memberCount = 0;

async function member(owner: SignedUpUser): Promise<SignedUpUser & { memberId: string }> {
  memberCount += 1;
  const email = `member-${memberCount}-${owner.userId}@example.com`;
  const invited = await owner.client.request('POST', '/console/api/team/invitations', { body: { email, role: 'member' } });
  expect(invited.status, invited.text).toBe(201);
  const client = new CustomerClient(ctx.app);
  await client.session();
  const token = new URL(invited.body.invite_url).hash.replace('#invite=', '');
  const signup = await client.request('POST', '/console/api/auth/signup', { body: { email, password: CUSTOMER_PASSWORD, invite_token: token }, headers: { 'x-forwarded-for': '192.0.2.77' } });
  expect(signup.status, signup.text).toBe(201);
  expect(signup.body).toMatchObject({ state: 'authenticated', user: { role: 'member' }, customer: { id: owner.customerId } });
  return { email, customerId: owner.customerId, userId: signup.body.user.id, memberId: signup.body.user.id, client };
}

async function fresh(kind: Kind, who: Party): Promise<string> {
  const client = who.user.client;
  switch (kind) {
    case 'api_key': {
      const created = await client.request('POST', '/console/api/keys', { body: { name: 'fresh', mode: 'test' } });
      expect(created.status, created.text).toBe(201);
      return created.body.id;
    }
    case 'task': {
      const created = await ctx.app.request('POST', '/v1/videos', { key: who.testKey, body: { model: 'seedance-2.0-fast', prompt: 'fresh', seconds: 5 } });
      expect(created.status, created.text).toBe(202);
      return created.body.id;
    }
    case 'webhook_endpoint': {
      const created = await client.request('POST', '/console/api/webhooks/endpoints', { body: { url: hookUrl, mode: 'test' } });
      expect(created.status, created.text).toBe(201);
      return created.body.id;
    }
    case 'webhook_delivery': {
      // A callback the receiver answers 410: the delivery ends cancelled, so it may be retried.
      const created = await ctx.app.request('POST', '/v1/videos', { key: who.testKey, body: { model: 'seedance-2.0-fast', prompt: 'callback', seconds: 5, callback_url: `${hookUrl}/gone` } });
      await runUntilDone(ctx.app, created.body.id);
      await ctx.app.worker.drain();
      const [delivery] = await ctx.app.deps.webhooks.deliveriesOf(created.body.id);
      expect(delivery?.status).toBe('cancelled');
      return delivery!.id;
    }
    case 'invitation': {
      const created = await client.request('POST', '/console/api/team/invitations', { body: { email: `invitee-${Math.random().toString(36).slice(2)}@example.com`, role: 'member' } });
      expect(created.status, created.text).toBe(201);
      return created.body.invitation.id;
    }
    case 'member':
      return (await member(who.user)).memberId;
    case 'topup': {
      const created = await client.request('POST', '/console/api/billing/topups', { body: { method: 'usdt_evm', amount: 500 + Math.floor(Math.random() * 5000) } });
      expect(created.status, created.text).toBe(201);
      return created.body.id;
    }
  }
}

async function party(): Promise<Party> {
  const user = await signedUpUser(ctx.app);
  const key = await user.client.request('POST', '/console/api/keys', { body: { name: 'caller', mode: 'test' } });
  expect(key.status, key.text).toBe(201);
  const who: Party = { user, member: await member(user), testKey: key.body.key, objects: {} as Record<Kind, string> };
  for (const kind of ['api_key', 'task', 'webhook_endpoint', 'webhook_delivery', 'invitation', 'topup'] as const) who.objects[kind] = await fresh(kind, who);
  who.objects.member = who.member.memberId;
  await runUntilDone(ctx.app, who.objects.task);
  return who;
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(request.url?.endsWith('/gone') ? 410 : 200).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  A = await party();
  B = await party();
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
});

async function collect(failures: string[], label: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    failures.push(`${label}: ${(error as Error).message.split('\n')[0]}`);
  }
}

function expectError(response: TestResponse, status: number, code: string, label: string): void {
  expect(response.status, `${label}: ${response.text.slice(0, 300)}`).toBe(status);
  expect(response.body.error, label).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
  expect(response.body.error.request_id, label).toBe(response.headers.get('x-request-id'));
  expect(response.headers.get('content-security-policy'), label).toBe("default-src 'self'; frame-ancestors 'none'");
}

describe('customer console sweep: every /console/api route', () => {
  it('places every route (an unplaced or stale one fails here)', () => {
    const labels = consoleRoutes().map((route) => `${route.method} ${route.url}`);
    expect(labels.filter((label) => !ACCESS[label])).toEqual([]);
    expect(Object.keys(ACCESS).filter((label) => !labels.includes(label))).toEqual([]);
    const withIds = consoleRoutes().filter((route) => route.url.includes(':'));
    expect(withIds.filter((route) => !kindOf(route.url)).map((route) => route.url)).toEqual([]);
    expect(withIds.length).toBeGreaterThanOrEqual(9);
  });

  it('no session → 401 unauthenticated (sign-in steps: 403 csrf_failed), whatever bearer is sent', async () => {
    const failures: string[] = [];
    for (const route of consoleRoutes()) {
      const label = `${route.method} ${route.url}`;
      const path = route.url.replace(':id', A.objects[kindOf(route.url) ?? 'task']);
      for (const [who, key] of [['no key', undefined], ['the operator key', OPERATOR_KEY], ['a customer key', A.testKey]] as const) {
        await collect(failures, `${label} with ${who}`, async () => {
          const response = await ctx.app.request(route.method, path, { ...(key ? { key } : {}), ...(route.method === 'GET' ? {} : { body: BODIES[label] ?? {} }) });
          const access = ACCESS[label];
          if (access === 'public') expect(response.status).toBe(200);
          else if (access === 'sign-in step') expectError(response, 403, 'csrf_failed', label);
          else expectError(response, 401, 'unauthenticated', label);
        });
      }
    }
    expect(failures).toEqual([]);
  });

  it('another customer\'s ids → 404 exactly like an unknown id, and change nothing; the caller\'s own ids get through', async () => {
    const failures: string[] = [];
    let denials = 0;
    for (const route of consoleRoutes().filter((entry) => entry.url.includes(':id'))) {
      const label = `${route.method} ${route.url}`;
      const kind = kindOf(route.url)!;
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : BODIES[label] ?? {};
      const send = (id: string) => A.user.client.request(route.method, route.url.replace(':id', encodeURIComponent(id)), body ? { body } : {});
      const unknown = await send(unknownLike(B.objects[kind]));
      await collect(failures, `${label} unknown id`, async () => expectError(unknown, 404, 'not_found', 'unknown'));
      await collect(failures, `${label} B's ${kind}`, async () => {
        const response = await send(B.objects[kind]);
        expectError(response, 404, 'not_found', `B's ${kind}`);
        expect(withoutRequestId(response.body)).toEqual(withoutRequestId(unknown.body));
        denials += 1;
      });
      await collect(failures, `${label} own ${kind}`, async () => {
        const id = route.method === 'GET' ? A.objects[kind] : await fresh(kind, A);
        const response = await send(id);
        expect(response.status, response.text.slice(0, 300)).toBeLessThan(400);
      });
    }
    expect(failures).toEqual([]);
    expect(denials).toBeGreaterThanOrEqual(9);
    // B's objects are as they were.
    const keys = await B.user.client.request('GET', '/console/api/keys');
    expect(keys.body.data.find((row: any) => row.id === B.objects.api_key)).toMatchObject({ status: 'active' });
    expect(keys.body.data.filter((row: any) => row.status === 'rotating')).toEqual([]);
    const endpoints = await B.user.client.request('GET', '/console/api/webhooks/endpoints');
    expect(endpoints.body.data.map((row: any) => row.id)).toContain(B.objects.webhook_endpoint);
    const deliveries = await B.user.client.request('GET', '/console/api/webhooks/deliveries?mode=test&limit=100');
    expect(deliveries.body.data.find((row: any) => row.id === B.objects.webhook_delivery)).toMatchObject({ status: 'cancelled' });
    const team = await B.user.client.request('GET', '/console/api/team');
    expect(team.body.members.find((row: any) => row.id === B.objects.member)).toMatchObject({ role: 'member' });
    expect(team.body.invitations.map((row: any) => row.id)).toContain(B.objects.invitation);
    const audit = await ctx.app.request('GET', `/api/admin/audit?actor=${encodeURIComponent(`customer_user:${A.user.email}`)}&limit=100`, { operator: true });
    expect(audit.body.data.filter((row: any) => [B.objects.api_key, B.objects.webhook_delivery, B.objects.member, B.objects.invitation].includes(row.target_id))).toEqual([]);
  });

  it('owner-only routes → 403 forbidden for a member; a member reads keys and tasks', async () => {
    const failures: string[] = [];
    for (const route of consoleRoutes().filter((entry) => ACCESS[`${entry.method} ${entry.url}`] === 'owner')) {
      const label = `${route.method} ${route.url}`;
      const path = route.url.replace(':id', A.objects[kindOf(route.url) ?? 'member']);
      await collect(failures, label, async () => {
        const response = await A.member.client.request(route.method, path, route.method === 'GET' ? {} : { body: BODIES[label] ?? {} });
        expectError(response, 403, 'forbidden', label);
      });
    }
    expect(failures).toEqual([]);
    expect((await A.member.client.request('GET', '/console/api/keys')).status).toBe(200);
    expect((await A.member.client.request('GET', `/console/api/tasks/${A.objects.task}`)).status).toBe(200);
  });

  it('invalid input → 400 with param: an unknown body field, a bad mode', async () => {
    const failures: string[] = [];
    for (const route of consoleRoutes()) {
      const label = `${route.method} ${route.url}`;
      if (ACCESS[label] === 'public' || label === 'POST /console/api/auth/logout') continue;
      const schema = route.schema as { body?: { required?: string[] }; querystring?: { properties?: Record<string, unknown> } } | undefined;
      const path = route.url.replace(':id', A.objects[kindOf(route.url) ?? 'task']);
      if (schema?.body) {
        await collect(failures, `${label} unknown field`, async () => {
          const response = await A.user.client.request(route.method, path, { body: { ...(BODIES[label] ?? {}), unexpected_field: 1 } });
          expect(response.status, response.text.slice(0, 200)).toBe(400);
          // The first problem found is named: a missing required field, else the unknown one.
          const required = (schema.body!.required ?? []).filter((name) => !(name in (BODIES[label] ?? {})));
          expect(response.body.error.param).toBe(required[0] ?? 'unexpected_field');
        });
      }
      if (schema?.querystring?.properties?.mode) {
        await collect(failures, `${label} bad mode`, async () => {
          const response = await A.user.client.request(route.method, `${path}?mode=sandbox`);
          expect(response.status, response.text.slice(0, 200)).toBe(400);
          expect(response.body.error.param).toBe('mode');
        });
      }
    }
    expect(failures).toEqual([]);
    const bad = await A.user.client.request('POST', '/console/api/keys', { body: { name: 'x', mode: 'test', expires_at: 'yesterday' } });
    expect(bad.body.error.param).toBe('expires_at');
    const url = await A.user.client.request('POST', '/console/api/webhooks/endpoints', { body: { url: 'ftp://example.com/x' } });
    expect(url.body.error.param).toBe('url');
    expect(await lastMail(ctx.app, 'nobody-here@example.com')).toBeNull();
  });
});
