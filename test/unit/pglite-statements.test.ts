import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgliteStatements } from '../../src/db/pglite-statements.mjs';
import { embeddedDb, type Db } from '../../src/db/pool.js';
import { openThreadedEmbedded } from '../../src/db/pglite-thread-client.js';

/**
 * The embedded engine's one-call statements (src/db/pglite-statements.mjs, issue 14) must answer exactly as PGlite's
 * own `query` does — same rows, same parsed types, same errors — keep the session usable after an error, and never
 * run a statement inside another caller's transaction.
 */
const bigints = { 20: (value: string) => BigInt(value) };
let lite: PGlite;
let statements: PgliteStatements;

beforeAll(async () => {
  lite = await PGlite.create();
  await lite.exec(`
    CREATE TABLE things (id serial PRIMARY KEY, name text UNIQUE, n int, big bigint, amount numeric, flag boolean,
                         at timestamptz, doc jsonb, tags text[], nums int[], bytes bytea, note text);
  `);
  statements = new PgliteStatements(lite, bigints);
});

afterAll(async () => {
  await lite.close();
});

describe('PgliteStatements', () => {
  it('answers as PGlite query does, for every kind of value the code passes', async () => {
    const at = new Date('2026-12-04T10:11:12.345Z');
    const columns = 'name, n, big, amount, flag, at, doc, tags, nums, bytes, note';
    const full = (name: string) => [name, 7, 9007199254740993n, '12.50', true, at, { k: 'v', nested: [1, 2] }, ['x', 'y "q"', 'z,w'], [1, 2, 3], new Uint8Array([0, 1, 255]), 42];
    const insertFull = `INSERT INTO things (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${columns}`;
    for (const name of ['a', 'b', 'c']) await lite.query(insertFull, full(name));
    const cases: Array<[string, unknown[]]> = [
      [insertFull, full('r1')],
      [`INSERT INTO things (name, flag, doc, at) VALUES ($1, $2, $3::jsonb, $4) RETURNING ${columns}`, ['r2', false, '{"s":"text"}', at.toISOString()]],
      [`INSERT INTO things (name, n, note) VALUES ($1, $2, $3) RETURNING ${columns}`, ['r3', null, undefined]],
      [`SELECT ${columns} FROM things WHERE name = ANY($1::text[]) ORDER BY name`, [['a', 'b', 'c']]],
      ['UPDATE things SET n = n + $2 WHERE name = $1', ['a', 1]],
      ['SELECT $1::int + $2::bigint AS total, $3::text AS t', [1, 2n, 'é ✓']],
      ['DELETE FROM things WHERE name = $1 RETURNING name', ['c']],
    ];
    // Each case twice: the first reads the parameter types, the second uses the kept ones.
    for (const [text, values] of cases) {
      for (let round = 0; round < 2; round += 1) {
        await lite.exec('BEGIN');
        const expected = await lite.query(text, values, { parsers: bigints });
        await lite.exec('ROLLBACK');
        await lite.exec('BEGIN');
        const actual = await statements.run(text, values, true).finally(() => lite.exec('ROLLBACK'));
        expect(actual.rows).toEqual(expected.rows);
        expect(actual.affectedRows).toBe(expected.affectedRows);
      }
    }
    // And once for good, read back through the other path.
    await statements.run(insertFull, full('r4'), false);
    const [row] = (await lite.query<Record<string, unknown>>('SELECT * FROM things WHERE name = $1', ['r4'], { parsers: bigints })).rows;
    expect(row).toMatchObject({ n: 7, big: 9007199254740993n, amount: '12.50', flag: true, at, doc: { k: 'v', nested: [1, 2] }, tags: ['x', 'y "q"', 'z,w'], nums: [1, 2, 3], note: '42' });
    expect([...(row!.bytes as Uint8Array)]).toEqual([0, 1, 255]);
  });

  it('reads a text’s parameter types once: later calls are one protocol call', async () => {
    const spy = vi.spyOn(lite, 'execProtocolStream');
    try {
      const text = 'SELECT $1::int * 2 AS doubled';
      expect((await statements.run(text, [21], false)).rows).toEqual([{ doubled: 42 }]);
      expect(spy).toHaveBeenCalledTimes(2);
      expect((await statements.run(text, [5], false)).rows).toEqual([{ doubled: 10 }]);
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps at most its limit of texts; others still run, reading their types each time', async () => {
    const small = new PgliteStatements(lite, bigints, 1);
    const spy = vi.spyOn(lite, 'execProtocolStream');
    try {
      await small.run('SELECT $1::int AS a', [1], false);
      await small.run('SELECT $1::int AS b', [2], false);
      expect(spy).toHaveBeenCalledTimes(4);
      expect((await small.run('SELECT $1::int AS a', [3], false)).rows).toEqual([{ a: 3 }]);
      expect(spy).toHaveBeenCalledTimes(5);
      expect((await small.run('SELECT $1::int AS b', [4], false)).rows).toEqual([{ b: 4 }]);
      expect(spy).toHaveBeenCalledTimes(7);
    } finally {
      spy.mockRestore();
    }
  });

  it('throws the database error with its SQLSTATE, and the session goes on', async () => {
    await expect(statements.run('SELEC $1', [1], false)).rejects.toMatchObject({ code: '42601' });
    await statements.run('INSERT INTO things (name) VALUES ($1)', ['unique-1'], false);
    await expect(statements.run('INSERT INTO things (name) VALUES ($1)', ['unique-1'], false)).rejects.toMatchObject({ code: '23505' });
    await expect(statements.run('SELECT $1::int AS n', ['not a number'], false)).rejects.toMatchObject({ code: '22P02' });
    expect((await statements.run('SELECT count(*)::int AS n FROM things WHERE name = $1', ['unique-1'], false)).rows).toEqual([{ n: 1 }]);
  });
});

/** The embedded engine in the server's thread (pool.ts `embeddedDb`) and on a thread of its own (EMBEDDED_DB_THREAD). */
const ENGINES: Array<[string, () => Promise<Db>]> = [
  ['in the thread', async () => {
    const own = await PGlite.create();
    return embeddedDb(own, () => own.close());
  }],
  ['on its own thread', () => openThreadedEmbedded({ startParams: PGlite.defaultStartParams })],
];

describe.each(ENGINES)('the embedded engine %s, on one-call statements', (_name, open) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
    await db.query('CREATE TABLE items (id int PRIMARY KEY, v text)');
  });
  afterAll(async () => {
    await db.close();
  });

  it('a failed transaction leaves nothing behind; the next one works', async () => {
    await expect(db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, v) VALUES ($1, $2)', [1, 'kept?']);
      await tx.query('INSERT INTO items (id, v) VALUES ($1, $2)', [1, 'duplicate']);
    })).rejects.toMatchObject({ code: '23505' });
    expect((await db.query('SELECT count(*)::int AS n FROM items WHERE id = $1', [1])).rows).toEqual([{ n: 0 }]);
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, v) VALUES ($1, $2)', [1, 'one']);
    });
    expect((await db.query('SELECT v FROM items WHERE id = $1', [1])).rows).toEqual([{ v: 'one' }]);
  });

  it('a statement from outside waits for a running transaction instead of joining it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => { inserted = resolve; });
    const order: string[] = [];
    const transaction = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, v) VALUES ($1, $2)', [2, 'in transaction']);
      inserted();
      await gate;
      order.push('commit');
      throw Object.assign(new Error('roll back'), { code: 'TEST' });
    }).catch((error: { code?: string }) => error.code);
    await insertedYet;
    const outside = db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id = $1', [2]).then((result) => {
      order.push('outside');
      return result.rows[0]!.n;
    });
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect(await transaction).toBe('TEST');
    // Had it joined the transaction it would have seen the row (and answered before the end): it saw the rolled-back state.
    expect(await outside).toBe(0);
    expect(order).toEqual(['commit', 'outside']);
  });

  it('refuses a statement through a transaction handle after the transaction ended', async () => {
    let handle!: { query: Db['query'] };
    await db.transaction(async (tx) => {
      handle = tx as never;
    });
    await expect(handle.query('INSERT INTO items (id, v) VALUES ($1, $2)', [3, 'late'])).rejects.toThrow(/transaction is closed/);
    expect((await db.query('SELECT count(*)::int AS n FROM items WHERE id = $1', [3])).rows).toEqual([{ n: 0 }]);
  });
});
