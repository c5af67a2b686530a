import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedInChild } from '../../src/db/pglite-create.js';
import { openDb } from '../../src/db/pool.js';

/**
 * A new embedded database is created by PGlite's initdb in a child process (src/db/pglite-create.ts), so that the
 * garbage initdb leaves (some 500 MB of WebAssembly memory and buffers, as V8 counts them) is never this process's.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];
const scratch = mkdtempSync(join(tmpdir(), 'genrelay-create-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('creating the embedded database', () => {
  it('runs initdb in a child process, once; the database then opens here', async () => {
    const dataDir = join(scratch, 'data');
    const path = join(dataDir, 'pglite');
    mkdirSync(dataDir);
    const external = process.memoryUsage().external;
    expect(await createEmbeddedInChild(path, START_PARAMS)).toBe(true);
    expect(existsSync(join(path, 'PG_VERSION'))).toBe(true);
    // initdb in this process would add hundreds of MB of external memory (WebAssembly memories, their copies).
    expect(process.memoryUsage().external - external).toBeLessThan(50 * 2 ** 20);
    // There is one now: nothing more to create.
    expect(await createEmbeddedInChild(path, START_PARAMS)).toBe(false);

    const db = await openDb({ databaseUrl: null, dataDir });
    try {
      expect((await db.query<{ answer: number }>('SELECT 6 * 7 AS answer')).rows).toEqual([{ answer: 42 }]);
    } finally {
      await db.close();
    }
  });

  it('fails with what the child wrote when it cannot create the database', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(createEmbeddedInChild(join(file, 'pglite'), START_PARAMS))
      .rejects.toThrow(/creating the embedded database in .*a-file\/pglite failed \(exit code 1\): .*ENOTDIR/s);
  });
});
