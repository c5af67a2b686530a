import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * Operator changes to channels and accounts (API.md §8, K13; workflows/channels.ts): every change leaves exactly one
 * audit row, written in the change's own transaction — a change whose audit row cannot be written is rolled back, and
 * a change that fails leaves no audit row.
 */
const ctx = useTestApp();
const BASE = { provider: 'dashscope', base_url: 'https://dashscope.example/api/v1', models: { 'happyhorse-1.0': 'happyhorse-1.0-t2v' } };

beforeAll(async () => {
  // A test-only switch: an audit row whose action is listed in audit_refusals fails its INSERT (and so its transaction).
  await ctx.app.deps.db.query('CREATE TABLE audit_refusals (action text PRIMARY KEY)');
  await ctx.app.deps.db.query(`
    CREATE FUNCTION refuse_listed_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM audit_refusals WHERE action = NEW.action) THEN
        RAISE EXCEPTION 'audit row refused by the test';
      END IF;
      RETURN NEW;
    END $$`);
  await ctx.app.deps.db.query('CREATE TRIGGER refuse_listed_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_listed_audit()');
});

afterEach(async () => {
  vi.restoreAllMocks();
  await ctx.app.deps.db.query('DELETE FROM audit_refusals');
});

async function auditRows(targetId: string): Promise<Array<{ action: string; after: any }>> {
  const result = await ctx.app.deps.db.query<{ action: string; after: any }>('SELECT action, after FROM audit_events WHERE target_id = $1 ORDER BY id', [targetId]);
  return result.rows;
}

async function auditCount(): Promise<number> {
  return Number((await ctx.app.deps.db.query<{ count: string }>('SELECT COUNT(*) AS count FROM audit_events')).rows[0]!.count);
}

async function refuse(action: string): Promise<void> {
  await ctx.app.deps.db.query('INSERT INTO audit_refusals (action) VALUES ($1)', [action]);
}

async function createChannel(name: string) {
  const created = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...BASE, name } });
  expect(created.status, created.text).toBe(201);
  return created.body;
}

async function createAccount(channelId: string, credential = 'first-secret') {
  const account = await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channelId, credential, label: 'main' } });
  expect(account.status, account.text).toBe(201);
  return account.body;
}

async function storedCredential(accountId: string) {
  const result = await ctx.app.deps.db.query<{ credential_encrypted: string; status: string }>('SELECT credential_encrypted, status FROM upstream_credentials WHERE id = $1', [accountId]);
  return result.rows[0]!;
}

describe('channel and account audit rows', () => {
  it('a channel created and updated, an account created, rotated and deleted each leave exactly one audit row', async () => {
    const channel = await createChannel('Audited');
    let rows = await auditRows(channel.id);
    expect(rows.map((row) => row.action)).toEqual(['channel.create']);
    expect(rows[0]!.after).toEqual(channel);

    const updated = await ctx.app.request('PATCH', `/api/admin/channels/${channel.id}`, { operator: true, body: { weight: 7 } });
    expect(updated.status, updated.text).toBe(200);
    rows = await auditRows(channel.id);
    expect(rows.map((row) => row.action)).toEqual(['channel.create', 'channel.update']);
    expect(rows[1]!.after).toEqual(updated.body);

    const account = await createAccount(channel.id);
    expect((await auditRows(account.id)).map((row) => row.action)).toEqual(['account.create']);
    const rotated = await ctx.app.request('PATCH', `/api/accounts/${account.id}`, { operator: true, body: { credential: 'second-secret' } });
    expect(rotated.status, rotated.text).toBe(200);
    const relabelled = await ctx.app.request('PATCH', `/api/accounts/${account.id}`, { operator: true, body: { label: 'spare' } });
    expect(relabelled.status, relabelled.text).toBe(200);
    const deleted = await ctx.app.request('DELETE', `/api/accounts/${account.id}`, { operator: true });
    expect(deleted.status, deleted.text).toBe(200);
    rows = await auditRows(account.id);
    expect(rows.map((row) => row.action)).toEqual(['account.create', 'account.rotate', 'account.update', 'account.delete']);
    expect(rows[1]!.after).toEqual(rotated.body);
    expect(JSON.stringify(rows)).not.toContain('secret');
    // The channel's own rows are unchanged by the account's changes.
    expect((await auditRows(channel.id)).map((row) => row.action)).toEqual(['channel.create', 'channel.update']);
  });

  it('writes the audit row in the change\'s transaction: a refused audit row rolls the change back', async () => {
    const before = await auditCount();
    await refuse('channel.create');
    const refusedCreate = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...BASE, name: 'Never created' } });
    expectV1Error(refusedCreate, 500, 'internal_error');
    expect((await ctx.app.deps.db.query("SELECT 1 FROM channels WHERE name = 'Never created'")).rows).toEqual([]);
    await ctx.app.deps.db.query('DELETE FROM audit_refusals');

    const channel = await createChannel('Kept as it was');
    const account = await createAccount(channel.id);
    const stored = await storedCredential(account.id);
    await refuse('channel.update');
    await refuse('account.create');
    await refuse('account.rotate');
    await refuse('account.delete');

    expectV1Error(await ctx.app.request('PATCH', `/api/admin/channels/${channel.id}`, { operator: true, body: { name: 'Renamed', weight: 9 } }), 500, 'internal_error');
    expectV1Error(await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.id, credential: 'never-stored' } }), 500, 'internal_error');
    expectV1Error(await ctx.app.request('PATCH', `/api/accounts/${account.id}`, { operator: true, body: { credential: 'never-rotated' } }), 500, 'internal_error');
    expectV1Error(await ctx.app.request('DELETE', `/api/accounts/${account.id}`, { operator: true }), 500, 'internal_error');

    const channels = await ctx.app.request('GET', '/api/admin/channels', { operator: true });
    expect(channels.body.data.find((row: any) => row.id === channel.id)).toMatchObject({ name: 'Kept as it was', weight: 1 });
    const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${channel.id}`, { operator: true });
    expect(accounts.body.data.map((row: any) => row.id)).toEqual([account.id]);
    expect(await storedCredential(account.id)).toEqual(stored);
    expect(stored.status).toBe('active');
    // Only the two successful changes were audited.
    expect(await auditCount()).toBe(before + 2);
    expect((await auditRows(channel.id)).map((row) => row.action)).toEqual(['channel.create']);
    expect((await auditRows(account.id)).map((row) => row.action)).toEqual(['account.create']);
  });

  it('a failing change leaves no audit row', async () => {
    const channel = await createChannel('Failing changes');
    const account = await createAccount(channel.id);
    const before = await auditCount();

    expectV1Error(await ctx.app.request('PATCH', '/api/admin/channels/ch_missing', { operator: true, body: { weight: 2 } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...BASE, name: 'Bad provider', provider: 'nope' } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('PATCH', `/api/admin/channels/${channel.id}`, { operator: true, body: { provider: 'nope' } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: 'ch_missing', credential: 'k' } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('PATCH', '/api/accounts/acc_missing', { operator: true, body: { credential: 'k' } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('DELETE', '/api/accounts/acc_missing', { operator: true }), 404, 'not_found');

    // A change that fails after its write is rolled back with nothing audited.
    const channels = ctx.app.deps.channels;
    const update = channels.updateChannel.bind(channels);
    vi.spyOn(channels, 'updateChannel').mockImplementationOnce(async (...args) => {
      await update(...args);
      throw new Error('failed after writing');
    });
    expectV1Error(await ctx.app.request('PATCH', `/api/admin/channels/${channel.id}`, { operator: true, body: { name: 'Half renamed' } }), 500, 'internal_error');
    const rotate = channels.updateCredential.bind(channels);
    vi.spyOn(channels, 'updateCredential').mockImplementationOnce(async (...args) => {
      await rotate(...args);
      throw new Error('failed after writing');
    });
    expectV1Error(await ctx.app.request('PATCH', `/api/accounts/${account.id}`, { operator: true, body: { credential: 'half-rotated' } }), 500, 'internal_error');

    expect(await auditCount()).toBe(before);
    expect((await ctx.app.deps.db.query<{ name: string }>('SELECT name FROM channels WHERE id = $1', [channel.id])).rows[0]!.name).toBe('Failing changes');
    expect((await ctx.app.deps.db.query("SELECT 1 FROM channels WHERE name = 'Bad provider'")).rows).toEqual([]);
  });
});
