import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
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

  async put(key: string, bytes: Buffer): Promise<void> {
    const target = this.path(key);
    // Write then rename, so a crash never leaves a half-written file under the final name.
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The first file of its folder: create the folder then (not before every write: a worker storing results spent
      // about 2 % of its time asking for folders that were there).
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temporary, bytes);
    }
    await rename(temporary, target);
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
