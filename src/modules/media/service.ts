import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db, Queryable } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { IdGenerator } from '../../lib/ids.js';
import { GroupCommitter } from '../../db/group-commit.js';
import { fileRunner, insertFile, type FileItem, type FilePurpose, type FileRow } from './file-groups.js';
import type { Storage } from './storage.js';

export type { FileItem, FilePurpose, FileRow } from './file-groups.js';

export interface NewFile {
  customerId: string | null;
  mode: string;
  taskId: string | null;
  purpose: FilePurpose;
  bytes: Buffer;
  contentType: string;
  width?: number | null;
  height?: number | null;
  durationSeconds?: number | null;
}

/** Signed links stay valid this long after they are rendered. */
export const LINK_TTL_SECONDS = 7 * 24 * 3600;

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif', 'video/mp4': 'mp4',
  'video/webm': 'webm', 'video/quicktime': 'mov', 'audio/wav': 'wav', 'audio/mpeg': 'mp3', 'audio/ogg': 'ogg',
};

export class MediaService {
  private readonly linkKey: Buffer;
  /**
   * File rows written by `store` outside a caller's transaction are committed in groups (file-groups.ts; a task's
   * results are written by its settlement instead, after `put`); one group at a time,
   * embedded formed from the writes read in two turns of the event loop, as the task writes (tasks/service.ts).
   */
  readonly fileGroups: GroupCommitter<FileItem, FileRow>;

  constructor(
    private readonly db: Db,
    private readonly storage: Storage,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    masterKey: string,
    private readonly publicBaseUrl: string,
  ) {
    this.linkKey = createHash('sha256').update(`genrelay-file-links:${masterKey}`).digest();
    this.fileGroups = new GroupCommitter(fileRunner(db), { maxGroup: 256, maxInFlight: 1, deferSend: db.blocksThread === true });
  }

  /** Writes the bytes first, then the row: a crash in between leaves an orphan object, never a dangling row. */
  async store(file: NewFile, db: Queryable = this.db): Promise<FileRow> {
    const item = await this.put(file);
    // Inside a caller's transaction the row is that transaction's; otherwise it joins the next group commit.
    return db === this.db ? this.fileGroups.submit(item) : insertFile(db, item);
  }

  /**
   * Writes the bytes only and answers the row to write: a task's results are written with the settlement that names
   * them (WalletService.settle), so their rows exist exactly when it committed.
   */
  async put(file: NewFile): Promise<FileItem> {
    const id = this.ids('file');
    const extension = EXTENSIONS[file.contentType] ?? 'bin';
    const key = `${file.mode}/${file.customerId ?? 'account-tests'}/${id}.${extension}`;
    await this.storage.put(key, file.bytes);
    return {
      id, customerId: file.customerId, mode: file.mode, taskId: file.taskId, purpose: file.purpose, contentType: file.contentType,
      sizeBytes: file.bytes.length, sha256: createHash('sha256').update(file.bytes).digest('hex'), width: file.width ?? null,
      height: file.height ?? null, durationSeconds: file.durationSeconds ?? null, storageKey: key, createdAt: this.clock.now(),
    };
  }

  /** Deletes the bytes `put` wrote for rows that were never written (a settlement that did not settle). */
  async discard(items: FileItem[]): Promise<void> {
    for (const item of items) await this.storage.delete(item.storageKey);
  }

  async attach(fileIds: string[], taskId: string): Promise<void> {
    if (fileIds.length === 0) return;
    await this.db.query('UPDATE files SET task_id = $2 WHERE id = ANY($1::text[]) AND task_id IS NULL', [fileIds, taskId]);
  }

  async get(id: string): Promise<FileRow> {
    const result = await this.db.query<FileRow>('SELECT * FROM files WHERE id = $1 AND deleted_at IS NULL', [id]);
    if (!result.rows[0]) throw new AppError('not_found', 'No such file');
    return result.rows[0];
  }

  async byIds(ids: string[]): Promise<FileRow[]> {
    if (ids.length === 0) return [];
    const result = await this.db.query<FileRow>('SELECT * FROM files WHERE id = ANY($1::text[]) AND deleted_at IS NULL', [ids]);
    const byId = new Map(result.rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id)).filter((row): row is FileRow => row !== undefined);
  }

  async bytes(file: FileRow): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.storage.read(file.storage_key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  read(file: FileRow, range?: { start: number; end: number }): Promise<Readable> {
    return this.storage.read(file.storage_key, range);
  }

  async deleteFile(id: string): Promise<void> {
    const result = await this.db.query<FileRow>('UPDATE files SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING *', [id, this.clock.now()]);
    for (const row of result.rows) await this.storage.delete(row.storage_key);
  }

  /**
   * Reaps inline reference files that never joined a task (the request that stored them was rejected or replayed,
   * SEMANTICS R8). Files younger than `olderThan` may still be attached by a request in flight.
   */
  async reapUnreferenced(olderThan: Date, limit = 500): Promise<number> {
    const result = await this.db.query<FileRow>(
      `UPDATE files SET deleted_at = $2
        WHERE id IN (SELECT id FROM files WHERE task_id IS NULL AND deleted_at IS NULL AND created_at < $1 LIMIT $3)
        RETURNING *`,
      [olderThan, this.clock.now(), limit],
    );
    for (const row of result.rows) await this.storage.delete(row.storage_key);
    return result.rows.length;
  }

  /** Where the walk of stored bytes for orphans goes on (`reapOrphanBytes`); null: from the start. */
  private orphanCursor: string | null = null;

  /**
   * Deletes stored bytes that no live file row names, once they are older than `ageMs` by the file system's clock
   * (the bytes' write time is a file-system time, which an injected clock does not move). Bytes are written before
   * the row that names them (`store`, and a result's settlement), so a crash or a settlement that failed in between
   * leaves bytes nothing names, as does a crash between a row's soft delete and the removal of its bytes. The age
   * leaves every write in flight alone. One page of `limit` objects per call, resuming where the last one ended and
   * starting over after the last object, so a sweep's cost stays bounded however many files there are.
   */
  async reapOrphanBytes(ageMs: number, limit = 1_000): Promise<number> {
    const page = await this.storage.list(this.orphanCursor, limit);
    this.orphanCursor = page.length < limit ? null : page.at(-1)!.key;
    const now = Date.now();
    const old = page.filter((object) => now - object.modifiedAt.getTime() > ageMs);
    if (old.length === 0) return 0;
    // Keys end in `<file id>.<extension>` (put); the row must exist, be live and name this very key.
    const ids = old.map((object) => object.key.slice(object.key.lastIndexOf('/') + 1).replace(/\.[^.]*$/, ''));
    const named = await this.db.query<{ storage_key: string }>(
      'SELECT storage_key FROM files WHERE id = ANY($1::text[]) AND deleted_at IS NULL',
      [ids],
    );
    const live = new Set(named.rows.map((row) => row.storage_key));
    let reaped = 0;
    for (const object of old) {
      if (live.has(object.key)) continue;
      await this.storage.delete(object.key);
      reaped += 1;
    }
    return reaped;
  }

  /** Deletes a task's stored files (DELETE /v1/videos/:id on a terminal task). */
  async deleteTaskFiles(taskId: string): Promise<number> {
    const result = await this.db.query<FileRow>(
      'UPDATE files SET deleted_at = $2 WHERE task_id = $1 AND deleted_at IS NULL RETURNING *',
      [taskId, this.clock.now()],
    );
    for (const row of result.rows) await this.storage.delete(row.storage_key);
    return result.rows.length;
  }

  private signature(id: string, expires: number): string {
    return createHmac('sha256', this.linkKey).update(`${id}.${expires}`).digest('base64url');
  }

  /** A durable genrelay link valid for LINK_TTL_SECONDS from now (rounded up to the hour, so it is stable). */
  signedUrl(fileId: string): { url: string; expiresAt: number } {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const expires = Math.ceil((now + LINK_TTL_SECONDS) / 3600) * 3600;
    return {
      url: `${this.publicBaseUrl}/v1/files/${fileId}/content?expires=${expires}&sig=${this.signature(fileId, expires)}`,
      expiresAt: expires,
    };
  }

  verifySignature(fileId: string, expires: string, signature: string): boolean {
    if (!/^\d{1,12}$/.test(expires)) return false;
    if (Number(expires) * 1000 < this.clock.now().getTime()) return false;
    const expected = Buffer.from(this.signature(fileId, Number(expires)));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
