import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LocalDiskStorage } from '../../src/modules/media/storage.js';

const root = mkdtempSync(join(tmpdir(), 'genrelay-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('local disk storage', () => {
  it('creates a folder with its first file, reuses it, creates it again when it went, and leaves no other files', async () => {
    const storage = new LocalDiskStorage(root);
    await storage.put('cus_a/live/one.mp4', Buffer.from('one'));
    await storage.put('cus_a/live/two.mp4', Buffer.from('two'));
    expect(readFileSync(join(root, 'cus_a/live/one.mp4'), 'utf8')).toBe('one');
    expect(await storage.size('cus_a/live/two.mp4')).toBe(3);
    expect(readdirSync(join(root, 'cus_a/live')).sort()).toEqual(['one.mp4', 'two.mp4']);

    rmSync(join(root, 'cus_a'), { recursive: true });
    await storage.put('cus_a/live/three.mp4', Buffer.from('three'));
    expect(readdirSync(join(root, 'cus_a/live'))).toEqual(['three.mp4']);

    await storage.delete('cus_a/live/three.mp4');
    expect(existsSync(join(root, 'cus_a/live/three.mp4'))).toBe(false);
    await expect(storage.put('../outside.mp4', Buffer.from('x'))).rejects.toThrow(/escapes/);
  });

  it('syncs each object to disk before answering, and never overwrites an existing key', async () => {
    const storage = new LocalDiskStorage(root);
    const probe = await open(join(root, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const synced = vi.spyOn(prototype, 'datasync');
    try {
      await storage.put('cus_b/live/one.mp4', Buffer.from('first'));
      expect(synced).toHaveBeenCalledTimes(1);
    } finally {
      synced.mockRestore();
    }
    await expect(storage.put('cus_b/live/one.mp4', Buffer.from('second'))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(join(root, 'cus_b/live/one.mp4'), 'utf8')).toBe('first');
    expect(readdirSync(join(root, 'cus_b/live'))).toEqual(['one.mp4']);
  });
});
