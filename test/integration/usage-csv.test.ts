import { beforeAll, describe, expect, it } from 'vitest';
import { CSV_BATCH } from '../../src/workflows/usage-reports.js';
import { useTestApp } from '../harness/setup.js';

/**
 * CSV exports of usage (API.md §8 "Reports", §3 `/v1/usage`): `format=csv` streams every group of the range, read in
 * keyset batches of CSV_BATCH, as a `text/csv` attachment with RFC 4180 quoting and a formula guard; JSON stays one
 * bounded page. The tasks are written straight into the table (failed, with their released holds, so the ledger
 * invariants hold), one per day over more than two batches' worth of days, in a range no other test uses.
 */
const ctx = useTestApp();
const DAYS = 2 * CSV_BATCH + 201;
const FROM = '2001-01-01T00:00:00Z';
const TO = '2010-01-01T00:00:00Z';
const ODD_FROM = '1990-01-01T00:00:00Z';
const ODD_TO = '1990-02-01T00:00:00Z';
const ODD_MODELS = ['plain', '=SUM(A1)', '+1', '-2', '@cmd', 'a,b', 'say "hi"', 'two\nlines'];
let owner: { customerId: string; key: string };
let stranger: { key: string };
const days: string[] = [];

/** Failed tasks with released zero holds, created at `start` + i days (one per entry of `models`). */
async function insertTasks(customerId: string, keyId: string, tag: string, start: string, models: string[]): Promise<void> {
  const db = ctx.app.deps.db;
  const wallet = (await db.query<{ id: string }>(`SELECT id FROM wallets WHERE customer_id = $1 AND mode = 'live'`, [customerId])).rows[0]!.id;
  await db.query(
    `INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, error_code, hold_amount, charged, created_at, updated_at, completed_at)
     SELECT 'task_' || $3 || lpad(i::text, 5, '0'), $1, 'live', $2, 'video', ($5::text[])[i + 1], 'failed', 'provider_error', 0, 0,
            $4::timestamptz + i * interval '1 day', $4::timestamptz + i * interval '1 day', $4::timestamptz + i * interval '1 day'
       FROM generate_series(0, cardinality($5::text[]) - 1) AS i`,
    [customerId, keyId, tag, start, models],
  );
  await db.query(
    `INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, expires_at, hard_deadline, created_at, resolved_at)
     SELECT 'res_' || substr(t.id, 6), t.id, $2, t.api_key_id, 0, 'released', t.created_at, t.created_at, t.created_at, t.created_at
       FROM tasks t WHERE t.id LIKE 'task_' || $1 || '%'`,
    [tag, wallet],
  );
}

beforeAll(async () => {
  const customer = await ctx.app.createCustomer({ name: 'CSV exporter' });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  owner = { customerId: customer.id, key: key.key };
  const other = await ctx.app.createCustomer({ name: 'Someone else' });
  stranger = { key: (await ctx.app.createKey(other.id, { mode: 'live' })).key };
  const tag = `csv${Math.random().toString(36).slice(2, 8)}`;
  await insertTasks(customer.id, key.id, tag, FROM, Array.from({ length: DAYS }, () => 'seedance-2.0-fast'));
  await insertTasks(customer.id, key.id, `${tag}odd`, ODD_FROM, ODD_MODELS);
  for (let index = 0; index < DAYS; index += 1) days.push(new Date(Date.parse(FROM) + index * 86_400_000).toISOString().slice(0, 10));
});

const operator = (query: string) => ctx.app.request('GET', `/api/admin/reports/usage?${query}`, { operator: true });
const customer = (query: string, key = owner.key) => ctx.app.request('GET', `/v1/usage?${query}`, { key });

function csvLines(text: string): string[] {
  expect(text.endsWith('\r\n')).toBe(true);
  return text.slice(0, -2).split('\r\n');
}

describe('usage CSV export', () => {
  it('the operator report streams every group of the range, each exactly once, in key order, as an attachment', async () => {
    const response = await operator(`group_by=day&from=${FROM}&to=${TO}&format=csv`);
    expect(response.status, response.text.slice(0, 300)).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="usage-live-day-2001-01-01-2010-01-01.csv"');
    const lines = csvLines(response.text);
    expect(lines[0]).toBe('key,requests,succeeded,failed,credits_charged,cost_credits,margin_credits');
    expect(lines.length - 1).toBeGreaterThan(2 * CSV_BATCH);
    const keys = lines.slice(1).map((line) => line.split(',')[0]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(days);
    // A group without a success has cost and margin 0 (SEMANTICS M11).
    expect(lines.slice(1)).toEqual(days.map((day) => `${day},1,0,1,0,0,0`));

    // `after` resumes an export; JSON stays one bounded page.
    const resumed = csvLines((await operator(`group_by=day&from=${FROM}&to=${TO}&format=csv&after=${days[CSV_BATCH + 99]}`)).text);
    expect(resumed.slice(1).map((line) => line.split(',')[0])).toEqual(days.slice(CSV_BATCH + 100));
    const json = await operator(`group_by=day&from=${FROM}&to=${TO}`);
    expect(json.body).toMatchObject({ object: 'usage_report', has_more: true });
    expect(json.body.data).toHaveLength(1000);
  });

  it('/v1/usage streams the customer\'s own groups, never another customer\'s, never a cost', async () => {
    const response = await customer(`group_by=day&from=${FROM}&to=${TO}&format=csv`);
    expect(response.status, response.text.slice(0, 300)).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="usage-live-day-2001-01-01-2010-01-01.csv"');
    const lines = csvLines(response.text);
    expect(lines[0]).toBe('key,requests,succeeded,failed,credits');
    expect(lines.slice(1)).toEqual(days.map((day) => `${day},1,0,1,0`));
    expect(csvLines((await customer(`group_by=day&from=${FROM}&to=${TO}&format=csv`, stranger.key)).text)).toEqual(['key,requests,succeeded,failed,credits']);
  });

  it('quotes commas, quotes and line breaks, and guards cells a spreadsheet would run as a formula', async () => {
    const expected = [
      'key,requests,succeeded,failed,credits',
      "'+1,1,0,1,0", "'-2,1,0,1,0", "'=SUM(A1),1,0,1,0", "'@cmd,1,0,1,0", '"a,b",1,0,1,0', 'plain,1,0,1,0', '"say ""hi""",1,0,1,0', '"two\nlines",1,0,1,0',
    ];
    expect((await customer(`group_by=model&from=${ODD_FROM}&to=${ODD_TO}&format=csv`)).text).toBe(`${expected.join('\r\n')}\r\n`);
    const report = (await operator(`group_by=model&from=${ODD_FROM}&to=${ODD_TO}&format=csv`)).text;
    expect(report).toContain(`\r\n"say ""hi""",1,0,1,0,0,0\r\n`);
    expect(report).toContain(`\r\n'=SUM(A1),1,0,1,0,0,0\r\n`);
  });

  it('refuses limit with format=csv and a bad range before streaming anything (400 with param); auth as before', async () => {
    for (const [response, param] of [
      [await operator(`group_by=day&format=csv&limit=10`), 'limit'],
      [await customer(`group_by=day&format=csv&limit=10`), 'limit'],
      [await operator(`format=csv&from=${TO}&to=${FROM}`), 'to'],
      [await customer(`group_by=day&format=csv&from=${TO}&to=${FROM}`), 'to'],
      [await operator(`format=csv&after=${'x'.repeat(300)}`), 'after'],
    ] as const) {
      expect(response.status, response.text).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body.error.param).toBe(param);
    }
    expect((await ctx.app.request('GET', '/api/admin/reports/usage?format=csv', { key: owner.key })).status).toBe(401);
    expect((await ctx.app.request('GET', '/v1/usage?group_by=day&format=csv')).status).toBe(401);
  });
});
