import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Durable storage behind one interface (ARCHITECTURE rule 12): local disk under DATA_DIR now, S3-compatible
 * later. Keys are opaque relative paths chosen by the media module.
 */
export interface Storage {
  put(key: string, bytes: Buffer): Promise<void>;
  /** A stream of the object, or of bytes [start, end] inclusive. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  size(key: string): Promise<number | null>;
  delete(key: string): Promise<void>;
  /**
   * Up to `limit` stored objects after the key `after` (null: from the start), in key order (segment by segment, so
   * a page always resumes where the last one ended), with when each was last written.
   */
  list(after: string | null, limit: number): Promise<StoredObject[]>;
}

export interface StoredObject {
  key: string;
  modifiedAt: Date;
}

/** Orders keys segment by segment ("a/x" before "a-b/y", as a walk of the folders meets them). */
export function compareKeys(a: string, b: string): number {
  return compareSegments(a.split('/'), b.split('/'));
}

function compareSegments(left: string[], right: string[]): number {
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    if (left[index] !== right[index]) return left[index]! < right[index]! ? -1 : 1;
  }
  return left.length - right.length;
}

export class LocalDiskStorage implements Storage {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    const full = resolve(join(this.root, key));
    if (!full.startsWith(this.root + sep)) throw new Error('storage key escapes the storage root');
    return full;
  }

  /**
   * Writes a new object and syncs it to disk before answering. Whoever names the object (a `files` row, and for a
   * result the settlement that charges for it) writes that only after this returns, so a host crash after the charge
   * cannot lose the bytes; on the journaling filesystems Linux installs use (ext4, XFS) the file's sync also commits
   * its new directory entry. A crash mid-write leaves a partial file that nothing names (no temporary name and rename:
   * the row-after-bytes order already keeps every named object whole). Keys are new ids: an existing one is an error,
   * never overwritten.
   */
  async put(key: string, bytes: Buffer): Promise<void> {
    const target = this.path(key);
    let handle: FileHandle;
    try {
      handle = await open(target, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The first file of its folder: create the folder then (not before every write: a worker storing results spent
      // about 2 % of its time asking for folders that were there).
      await mkdir(dirname(target), { recursive: true });
      handle = await open(target, 'wx');
    }
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(target, { force: true });
      throw error;
    }
    await handle.close();
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    return createReadStream(this.path(key), range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.path(key))).size;
    } catch {
      return null;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async list(after: string | null, limit: number): Promise<StoredObject[]> {
    const found: StoredObject[] = [];
    const cursor = after === null ? null : after.split('/');
    /** Walks one folder in name order; true once the page is full. */
    const walk = async (folder: string, segments: string[]): Promise<boolean> => {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const path = [...segments, entry.name];
        if (entry.isDirectory()) {
          // A folder wholly before the cursor is skipped; the cursor's own folder is walked for what follows it.
          if (cursor && compareSegments(path, cursor.slice(0, path.length)) < 0) continue;
          if (await walk(join(folder, entry.name), path)) return true;
        } else if (entry.isFile()) {
          if (cursor && compareSegments(path, cursor) <= 0) continue;
          const key = path.join('/');
          // Gone since the folder was read (deleted meanwhile): nothing to list.
          const info = await stat(join(folder, entry.name)).catch(() => null);
          if (!info) continue;
          found.push({ key, modifiedAt: info.mtime });
          if (found.length >= limit) return true;
        }
      }
      return false;
    };
    await walk(this.root, []);
    return found;
  }
}
