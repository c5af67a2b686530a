import { describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/modules/audit/service.js';
import { useTestApp } from '../harness/setup.js';

/**
 * `GET /api/admin/audit` filters for the console (issue 11): actor, from (inclusive) and to (exclusive) beside the
 * target and action filters, newest first, keyset pages (`after`) that keep the filters.
 */
const ctx = useTestApp();

const audit = (query: string, options: { key?: string; operator?: boolean } = { operator: true }) => ctx.app.request('GET', `/api/admin/audit?${query}`, options);
const ids = (response: { body: { data: Array<{ id: string }> } }) => response.body.data.map((row) => row.id);

/** Events at known times: customer changes by the operator key, and events of another actor (as an admin's would be). */
async function timeline() {
  const T = Date.UTC(2033, 2, 1, 9);
  const admin = `admin-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const events: Array<{ id: string; at: number; actor: string }> = [];
  ctx.app.clock.set(T);
  const customer = await ctx.app.createCustomer({ name: 'audited' });
  for (const [offset, name] of [[60_000, 'first'], [120_000, 'second'], [180_000, 'third']] as const) {
    ctx.app.clock.set(T + offset);
    const response = await ctx.app.request('PATCH', `/api/public/customers/${customer.id}`, { operator: true, body: { name } });
    expect(response.status, response.text).toBe(200);
  }
  for (const offset of [90_000, 150_000]) {
    await ctx.app.deps.db.transaction((tx) => recordAudit(tx, { actor: admin, ip: '10.0.0.1', userAgent: null }, { action: 'customer.update', targetType: 'customer', targetId: customer.id, after: { offset } }, new Date(T + offset)));
  }
  const all = await audit(`target_id=${customer.id}&limit=100`);
  for (const row of all.body.data) events.push({ id: row.id, at: Date.parse(row.created_at), actor: row.actor });
  const operatorActor = events.find((event) => event.actor !== admin)!.actor;
  return { T, admin, operatorActor, customer, events };
}

describe('GET /api/admin/audit filters', () => {
  it('actor, from (inclusive) and to (exclusive) filter exactly, combined with target and action, newest first', async () => {
    const { T, admin, operatorActor, customer, events } = await timeline();
    expect(events).toHaveLength(6);
    const expected = (keep: (event: (typeof events)[number]) => boolean) => events.filter(keep).map((event) => event.id);

    const byAdmin = await audit(`actor=${encodeURIComponent(admin)}`);
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect(ids(byAdmin)).toEqual(expected((event) => event.actor === admin));
    expect(ids(byAdmin)).toHaveLength(2);
    expect(ids(await audit(`actor=${operatorActor}&target_id=${customer.id}`))).toEqual(expected((event) => event.actor === operatorActor));
    expect((await audit('actor=nobody@example.com')).body.data).toEqual([]);

    const from = new Date(T + 90_000).toISOString();
    const to = new Date(T + 180_000).toISOString();
    // [T+90 s, T+180 s): the admin's event at 90 s and the changes at 120 s and 150 s; not the one at 180 s.
    expect(ids(await audit(`target_id=${customer.id}&from=${from}&to=${to}`))).toEqual(expected((event) => event.at >= T + 90_000 && event.at < T + 180_000));
    expect(ids(await audit(`target_id=${customer.id}&from=${from}&to=${to}`))).toHaveLength(3);
    expect(ids(await audit(`from=${from}&to=${to}&actor=${encodeURIComponent(admin)}&action=customer.update`))).toEqual(expected((event) => event.actor === admin && event.at < T + 180_000 && event.at >= T + 90_000));
    expect(ids(await audit(`target_id=${customer.id}&from=${to}`))).toEqual(expected((event) => event.at >= T + 180_000));
    expect(ids(await audit(`target_id=${customer.id}&to=${from}`))).toEqual(expected((event) => event.at < T + 90_000));
    // An empty range is allowed and empty; offsets other than Z are read as the instant they name.
    expect((await audit(`from=${from}&to=${from}`)).body.data).toEqual([]);
    expect(ids(await audit(`target_id=${customer.id}&from=${encodeURIComponent('2033-03-01T10:01:30+01:00')}`))).toEqual(expected((event) => event.at >= T + 90_000));
  });

  it('keyset pages keep the filters', async () => {
    const { admin, customer, events } = await timeline();
    const wanted = events.filter((event) => event.actor !== admin).map((event) => event.id);
    const actor = events.find((event) => event.actor !== admin)!.actor;
    const seen: string[] = [];
    let after = '';
    for (let page = 0; page < 10; page += 1) {
      const response = await audit(`actor=${actor}&target_id=${customer.id}&limit=1${after ? `&after=${after}` : ''}`);
      expect(response.status, response.text).toBe(200);
      seen.push(...ids(response));
      if (!response.body.has_more) break;
      after = ids(response).at(-1)!;
    }
    expect(seen).toEqual(wanted);
  });

  it('bad dates, reversed ranges and an empty actor → 400 with param; no key or a customer key → 401', async () => {
    const cases: Array<[string, string]> = [
      ['from=yesterday', 'from'], ['to=2020-13-45T00:00:00Z', 'to'], ['from=1969-12-31T23:59:59Z', 'from'],
      ['to=10000-01-01T00:00:00Z', 'to'], ['from=2024-02-01', 'from'], ['from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z', 'to'],
      ['actor=', 'actor'], [`actor=${'a'.repeat(321)}`, 'actor'], ['since=2024-01-01T00:00:00Z', 'since'],
    ];
    for (const [query, param] of cases) {
      const response = await audit(query);
      expect(response.status, `${query}: ${response.text}`).toBe(400);
      expect(response.body.error.param, query).toBe(param);
    }
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    for (const options of [{}, { key: key.key }, { key: 'wrong-operator-key-0123456789abc' }]) {
      const response = await audit('actor=operator', options);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('invalid_api_key');
    }
  });
});
