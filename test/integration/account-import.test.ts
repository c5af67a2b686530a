import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../harness/setup.js';

/**
 * Credential pool import (issue 10, API.md §8 `POST /api/accounts/import`): a result per line — created, duplicate
 * (the channel already holds the secret, compared by fingerprint since secrets are encrypted at rest) or invalid —,
 * everything and one audit row in one transaction.
 */
const ctx = useTestApp();

let channelId = '';
let existingId = '';
let customerKey = '';

function operator(method: string, path: string, body?: unknown) {
  return ctx.app.request(method, path, { operator: true, ...(body === undefined ? {} : { body }) });
}

async function channel(name: string): Promise<string> {
  const created = await operator('POST', '/api/admin/channels', { name, provider: 'ark', base_url: 'https://ark.example.com/api/v3', models: { 'seedance-2.0-fast': 'up' } });
  expect(created.status, created.text).toBe(201);
  return created.body.id as string;
}

async function accounts(id: string): Promise<any[]> {
  return (await operator('GET', `/api/accounts?channel_id=${id}`)).body.data;
}

async function secretOf(accountId: string): Promise<string> {
  return ctx.app.deps.channels.secretOf(await ctx.app.deps.channels.credential(accountId));
}

beforeAll(async () => {
  channelId = await channel('import target');
  const existing = await operator('POST', '/api/accounts', { channel_id: channelId, credential: 'sk-existing', label: 'first' });
  expect(existing.status, existing.text).toBe(201);
  existingId = existing.body.id;
  const customer = await ctx.app.createCustomer({ name: 'Import outsider' });
  customerKey = (await ctx.app.createKey(customer.id, { mode: 'live' })).key;
});

describe('POST /api/accounts/import', () => {
  it('answers a result per line: created, duplicate (of the pool or of an earlier line), invalid; audited once', async () => {
    const response = await operator('POST', '/api/accounts/import', {
      channel_id: channelId,
      credentials: ['sk-new-1', { credential: 'sk-new-2', label: 'second' }, 'sk-existing', '  sk-new-1  ', '', 'two keys', { credential: 'x'.repeat(4097) }, { credential: 'sk-new-3', label: 'l'.repeat(201) }],
    });
    expect(response.status, response.text).toBe(200);
    const { results } = response.body;
    expect(response.body).toMatchObject({ object: 'account_import', channel_id: channelId, created: 2, duplicates: 2, invalid: 4 });
    expect(results.map((result: any) => [result.line, result.status])).toEqual([
      [0, 'created'], [1, 'created'], [2, 'duplicate'], [3, 'duplicate'], [4, 'invalid'], [5, 'invalid'], [6, 'invalid'], [7, 'invalid'],
    ]);
    expect(results[1]).toMatchObject({ id: expect.stringMatching(/^acc_/), label: 'second' });
    expect(results[2].duplicate_of).toBe(existingId);
    expect(results[3].duplicate_of).toBe(results[0].id);
    expect(results[4].error).toMatch(/empty/);
    expect(results[5].error).toMatch(/whitespace/);
    expect(results[6].error).toMatch(/4096/);
    expect(results[7].error).toMatch(/label/);
    expect(response.text).not.toContain('sk-new');
    // The created accounts are in the pool, usable, and their secrets stored encrypted as given.
    const pool = await accounts(channelId);
    expect(pool.map((account) => account.id).sort()).toEqual([existingId, results[0].id, results[1].id].sort());
    expect(await secretOf(results[0].id)).toBe('sk-new-1');
    expect(pool.find((account) => account.id === results[1].id)).toMatchObject({ label: 'second', status: 'active' });
    const audit = await operator('GET', `/api/admin/audit?action=account.import&target_id=${channelId}`);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ actor: 'operator-key', target_type: 'channel', after: { created: [results[0].id, results[1].id], duplicates: 2, invalid: 4 } });
    expect(JSON.stringify(audit.body.data[0])).not.toContain('sk-new');
  });

  it('deduplicates against rotated, deleted and pre-fingerprint credentials; other channels are separate pools', async () => {
    const own = await channel('import dedupe');
    const first = (await operator('POST', '/api/accounts', { channel_id: own, credential: 'sk-old' })).body.id;
    const rotated = await operator('PATCH', `/api/accounts/${first}`, { credential: 'sk-rotated' });
    expect(rotated.status).toBe(200);
    const legacy = (await operator('POST', '/api/accounts', { channel_id: own, credential: 'sk-legacy' })).body.id;
    // As written before migration 0011: no fingerprint yet; the import computes it from the secret.
    await ctx.app.database.db.query('UPDATE upstream_credentials SET credential_sha256 = NULL WHERE id = $1', [legacy]);
    const gone = (await operator('POST', '/api/accounts', { channel_id: own, credential: 'sk-deleted' })).body.id;
    expect((await operator('DELETE', `/api/accounts/${gone}`)).status).toBe(200);
    const response = await operator('POST', '/api/accounts/import', { channel_id: own, credentials: ['sk-rotated', 'sk-old', 'sk-legacy', 'sk-deleted', 'sk-existing'] });
    expect(response.body.results.map((result: any) => result.status)).toEqual(['duplicate', 'created', 'duplicate', 'created', 'created']);
    expect(response.body.results[0].duplicate_of).toBe(first);
    expect(response.body.results[2].duplicate_of).toBe(legacy);
  });

  it('takes 1,000 lines; 1,001 or none → 400 naming credentials', async () => {
    const big = await channel('import big');
    const lines = Array.from({ length: 1000 }, (_, index) => `sk-bulk-${index}`);
    const response = await operator('POST', '/api/accounts/import', { channel_id: big, credentials: lines });
    expect(response.status, response.text.slice(0, 300)).toBe(200);
    expect(response.body).toMatchObject({ created: 1000, duplicates: 0, invalid: 0 });
    expect(await accounts(big)).toHaveLength(1000);
    for (const credentials of [[...lines, 'one more'], []]) {
      const refused = await operator('POST', '/api/accounts/import', { channel_id: big, credentials });
      expect(refused.status).toBe(400);
      expect(refused.body.error.param).toBe('credentials');
    }
  }, 120_000);

  it('invalid input → 400 with param, an unknown channel → 404, and nothing is written', async () => {
    const before = await accounts(channelId);
    const cases: Array<[unknown, string]> = [
      [{ credentials: ['sk-a'] }, 'channel_id'],
      [{ channel_id: channelId, credentials: 'sk-a' }, 'credentials'],
      [{ channel_id: channelId, credentials: [42] }, 'credentials.0'],
      [{ channel_id: channelId, credentials: [{ credential: 'sk-a', colour: 'red' }] }, 'credentials.0'],
      [{ channel_id: channelId, credentials: ['sk-a'], dry_run: true }, 'dry_run'],
    ];
    for (const [body, param] of cases) {
      const response = await operator('POST', '/api/accounts/import', body);
      expect(response.status, `${JSON.stringify(body)}: ${response.text}`).toBe(400);
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
    }
    const unknown = await operator('POST', '/api/accounts/import', { channel_id: 'ch_0000000000000000000000', credentials: ['sk-a'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    expect(await accounts(channelId)).toEqual(before);
  });

  it('no key and a customer key → 401', async () => {
    const before = await accounts(channelId);
    for (const key of [undefined, customerKey]) {
      const response = await ctx.app.request('POST', '/api/accounts/import', { ...(key ? { key } : {}), body: { channel_id: channelId, credentials: ['sk-a'] } });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('invalid_api_key');
    }
    expect(await accounts(channelId)).toEqual(before);
  });
});

describe('upstream-reported balance', () => {
  it('is read on the sweeper\'s schedule and on the account test, shown on the account; routing skips accounts at ≤ 0', async () => {
    const model = 'seedance-2.0-fast';
    const created = await operator('POST', '/api/admin/channels', { name: 'balance', provider: 'ark', base_url: 'http://127.0.0.1:1/api/v3', models: { [model]: 'up' }, priority: 10 });
    const id = created.body.id as string;
    const imported = await operator('POST', '/api/accounts/import', { channel_id: id, credentials: ['sk-poor', 'sk-rich'] });
    const [poor, rich] = imported.body.results.map((result: any) => result.id as string);
    const plain = await channel('no balance reads');
    const unread = (await operator('POST', '/api/accounts', { channel_id: plain, credential: 'sk-plain' })).body.id;
    // Ark documents no balance read (PROVIDERS.md §1.4): this channel's adapter gets one for the test.
    const balances: Record<string, number> = { 'sk-poor': 0, 'sk-rich': 5 };
    const route = await ctx.app.deps.router.routeForCredential(poor, model);
    (route!.adapter as { balance?: unknown }).balance = async (context: { credential?: string }) => ({ amount: balances[context.credential!]!, currency: 'USD' });

    await ctx.app.worker.sweepOnce();
    const view = async (accountId: string) => (await accounts((await ctx.app.deps.channels.credential(accountId)).channel_id)).find((account) => account.id === accountId);
    expect(await view(poor)).toMatchObject({ balance: 0, balance_checked_at: ctx.app.clock.now().toISOString() });
    expect(await view(rich)).toMatchObject({ balance: 5 });
    expect(await view(unread)).toMatchObject({ balance: null, balance_checked_at: null });
    const customer = await ctx.app.createCustomer({ name: 'Balance customer' });
    await ctx.app.grant(customer.id, 1_000_000, 'live');
    const task = { id: 'task_balance', mode: 'live', model, customer_id: customer.id, tried_channels: [] } as never;
    for (let round = 0; round < 5; round += 1) {
      const picked = await ctx.app.deps.router.routeFor(task, 'default');
      expect([picked?.channelId, picked?.credentialId]).toEqual([id, rich]);
    }

    // Not read again before the interval; after it, both are exhausted and the channel has no usable account.
    balances['sk-rich'] = 0;
    await ctx.app.worker.sweepOnce();
    expect((await view(rich)).balance).toBe(5);
    ctx.app.clock.advance(15 * 60_000 + 1);
    await ctx.app.worker.sweepOnce();
    expect((await view(rich)).balance).toBe(0);
    for (let round = 0; round < 5; round += 1) expect((await ctx.app.deps.router.routeFor(task, 'default'))?.channelId).not.toBe(id);

    // The account test reads it too, and a reading above 0 brings the account back.
    balances['sk-rich'] = 7;
    const tested = await operator('POST', `/api/accounts/${rich}/test`, {});
    expect(tested.status, tested.text).toBe(200);
    expect(tested.body.balance).toBe(7);
    expect((await view(rich)).balance).toBe(7);
    const back = await ctx.app.deps.router.routeFor(task, 'default');
    expect([back?.channelId, back?.credentialId]).toEqual([id, rich]);
  });
});
