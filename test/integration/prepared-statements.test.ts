import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepared } from '../../src/db/pool.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../harness/databases.js';

/**
 * Hot statements are parsed once per connection on PostgreSQL (db/pool.ts `prepared`, issue 14); the embedded engine
 * runs the same texts unprepared. One pooled connection, so what it prepared can be read back in its session.
 */
const ENGINE = testEngine();
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(ENGINE, 1);
});

afterAll(async () => {
  await database?.drop();
});

describe('prepared statements', () => {
  const text = prepared('test_sum', 'SELECT $1::int + $2::int AS sum');

  it('answers like any query, on both engines', async () => {
    expect((await database.db.query<{ sum: number }>(text, [2, 3])).rows).toEqual([{ sum: 5 }]);
    expect((await database.db.query<{ sum: number }>(text, [40, 2])).rows).toEqual([{ sum: 42 }]);
  });

  it.runIf(ENGINE === 'postgres')('is prepared once on the connection under its name; other texts are not', async () => {
    await database.db.query(text, [1, 1]);
    await database.db.query('SELECT $1::int AS one', [1]);
    const names = (await database.db.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((row) => row.name);
    expect(names).toContain('test_sum');
    expect(names.filter((name) => name === 'test_sum')).toHaveLength(1);
    expect(names.some((name) => name.includes('one'))).toBe(false);
  });

  it('refuses one name for two texts and two names for one text', () => {
    expect(prepared('test_sum', 'SELECT $1::int + $2::int AS sum')).toBe(text);
    expect(() => prepared('test_sum', 'SELECT 1')).toThrow(/taken/);
    expect(() => prepared('test_other', text)).toThrow(/already prepared/);
  });
});
