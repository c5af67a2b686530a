import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
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
}
