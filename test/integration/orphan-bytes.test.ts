import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareKeys, LocalDiskStorage } from '../../src/modules/media/storage.js';
import type { FileItem } from '../../src/modules/media/file-groups.js';
import { sweep } from '../../src/workflows/sweep.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Stored bytes that no live file row names (a crash or a failed settlement between the bytes and their row, or between
 * a row's soft delete and the removal of its bytes) are deleted by the sweeper once a day old
 * (MediaService.reapOrphanBytes); bytes a live row names, and young bytes whose row may still be on its way, stay.
 */
const ctx = useTestApp();
const DAY = 24 * 3_600_000;
const scratch = mkdtempSync(join(tmpdir(), 'genrelay-storage-list-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function pathOf(key: string): string {
  return join(ctx.app.deps.config.dataDir, 'files', key);
}

/** Makes stored bytes look `hoursOld` hours old to the file system. */
function age(key: string, hoursOld: number): void {
  const when = new Date(Date.now() - hoursOld * 3_600_000);
  utimesSync(pathOf(key), when, when);
}

async function bytesOnly(customerId: string, text: string): Promise<FileItem> {
  return ctx.app.deps.media.put({ customerId, mode: 'live', taskId: null, purpose: 'result', bytes: Buffer.from(text), contentType: 'image/png' });
}

/** Walks the whole storage once (earlier tests' pages may have left the cursor mid-way), returning what it reaped. */
async function fullPass(limit = 1_000): Promise<number> {
  let reaped = 0;
  for (let page = 0; page < 50; page += 1) reaped += await ctx.app.deps.media.reapOrphanBytes(DAY, limit);
  return reaped;
}

describe('orphan bytes', () => {
  it('deletes day-old bytes without a live row; keeps named bytes and young bytes', async () => {
    const customer = await ctx.app.createCustomer();
    const media = ctx.app.deps.media;
    const named = await media.store({ customerId: customer.id, mode: 'live', taskId: null, purpose: 'reference', bytes: Buffer.from('named'), contentType: 'image/png' });
    const orphan = await bytesOnly(customer.id, 'orphan');
    const young = await bytesOnly(customer.id, 'young');
    const softDeleted = await media.store({ customerId: customer.id, mode: 'live', taskId: null, purpose: 'reference', bytes: Buffer.from('deleted'), contentType: 'image/png' });
    // A soft delete whose removal of the bytes never ran (a crash in between).
    await ctx.app.deps.db.query('UPDATE files SET deleted_at = $2 WHERE id = $1', [softDeleted.id, ctx.app.clock.now()]);
    for (const key of [named.storage_key, orphan.storageKey, softDeleted.storage_key]) age(key, 25);
    age(young.storageKey, 23);

    expect(await fullPass()).toBe(2);
    expect(existsSync(pathOf(orphan.storageKey))).toBe(false);
    expect(existsSync(pathOf(softDeleted.storage_key))).toBe(false);
    expect(existsSync(pathOf(named.storage_key))).toBe(true);
    expect(existsSync(pathOf(young.storageKey))).toBe(true);
    // The named file still reads whole.
    expect((await media.bytes(await media.get(named.id))).toString()).toBe('named');
    // Once the young bytes are a day old, they go too.
    age(young.storageKey, 25);
    expect(await fullPass()).toBe(1);
    expect(existsSync(pathOf(young.storageKey))).toBe(false);
  });

  it('walks the storage a page at a time, resuming after the last key and starting over at the end', async () => {
    const customer = await ctx.app.createCustomer();
    await fullPass(); // Nothing else left to reap, and the cursor back at the start.
    const orphans = [];
    for (let index = 0; index < 5; index += 1) orphans.push(await bytesOnly(customer.id, `page ${index}`));
    for (const orphan of orphans) age(orphan.storageKey, 30);
    // Each call lists one page after the previous page's last key: watched through the storage's `list`.
    const storage = (ctx.app.deps.media as unknown as { storage: LocalDiskStorage }).storage;
    const list = storage.list.bind(storage);
    const calls: Array<{ after: string | null; keys: string[] }> = [];
    storage.list = async (after, limit) => {
      const page = await list(after, limit);
      calls.push({ after, keys: page.map((object) => object.key) });
      return page;
    };
    try {
      let reaped = 0;
      for (let call = 0; call < 200 && reaped < 5; call += 1) reaped += await ctx.app.deps.media.reapOrphanBytes(DAY, 2);
      expect(reaped).toBe(5);
      // One more full pass, so the walk ends once and starts over.
      for (let call = 0; call < 200 && calls.at(-1)!.keys.length === 2; call += 1) await ctx.app.deps.media.reapOrphanBytes(DAY, 2);
      await ctx.app.deps.media.reapOrphanBytes(DAY, 2);
    } finally {
      storage.list = list;
    }
    expect(calls[0]!.after).toBeNull();
    for (let index = 1; index < calls.length; index += 1) {
      const previous = calls[index - 1]!;
      // After a full page: its last key; after a short page (the end): from the start again.
      expect(calls[index]!.after).toBe(previous.keys.length === 2 ? previous.keys.at(-1) : null);
    }
    expect(calls.some((call) => call.keys.length < 2)).toBe(true);
    for (const orphan of orphans) expect(existsSync(pathOf(orphan.storageKey))).toBe(false);
  });

  it('runs in every sweep', async () => {
    const customer = await ctx.app.createCustomer();
    await fullPass();
    const orphan = await bytesOnly(customer.id, 'swept');
    age(orphan.storageKey, 48);
    let reaped = 0;
    for (let round = 0; round < 50 && reaped === 0; round += 1) reaped += (await sweep(ctx.app.deps)).bytesReaped;
    expect(reaped).toBe(1);
    expect(existsSync(pathOf(orphan.storageKey))).toBe(false);
  });
});

describe('LocalDiskStorage.list', () => {
  it('lists in key order segment by segment, resumes after a key, and skips what is not a file', async () => {
    const storage = new LocalDiskStorage(scratch);
    for (const key of ['live/a-b/y.png', 'live/a/x.png', 'live/a/z.png', 'test/c/w.mp4']) await storage.put(key, Buffer.from(key));
    mkdirSync(join(scratch, 'live', 'empty'), { recursive: true });
    writeFileSync(join(scratch, 'live', 'a', 'partial.bin'), 'left by a crash mid-write');
    const all = (await storage.list(null, 100)).map((object) => object.key);
    expect(all).toEqual(['live/a/partial.bin', 'live/a/x.png', 'live/a/z.png', 'live/a-b/y.png', 'test/c/w.mp4']);
    expect([...all].sort(compareKeys)).toEqual(all);
    expect((await storage.list('live/a/x.png', 2)).map((object) => object.key)).toEqual(['live/a/z.png', 'live/a-b/y.png']);
    expect((await storage.list('live/a-b/y.png', 100)).map((object) => object.key)).toEqual(['test/c/w.mp4']);
    expect(await storage.list('test/c/w.mp4', 100)).toEqual([]);
    expect((await storage.list(null, 1))[0]!.modifiedAt).toBeInstanceOf(Date);
    // A storage root that does not exist yet (no file stored) lists nothing.
    expect(await new LocalDiskStorage(join(scratch, 'none')).list(null, 10)).toEqual([]);
  });
});
