import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import { prepared, type Db, type Queryable } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { Storage } from './storage.js';

/** Every result a worker stores goes through it: prepared once per connection (pool.ts), its columns named. */
const INSERT_FILE = prepared('gr_insert_file',
  `INSERT INTO files (id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height,
                      duration_seconds, storage_key, created_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
   RETURNING id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height, duration_seconds,
             storage_key, created_at, deleted_at`);

/**
 * Durable files: generation results copied off the upstream, and inline reference media written before the hot
 * path (SEMANTICS R8). Customers download them through signed genrelay links (`/v1/files/:id/content?expires&sig`)
 * or with their API key; upstream URLs never reach them.
 */
export interface FileRow {
  id: string;
  /** Null only for an operator's account-test output (purpose `account_test`, migration 0013). */
  customer_id: string | null;
  mode: string;
  task_id: string | null;
  purpose: FilePurpose;
  content_type: string;
  size_bytes: bigint;
  sha256: string;
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
  storage_key: string;
  created_at: Date;
  deleted_at: Date | null;
}

export type FilePurpose = 'result' | 'reference' | 'account_test';

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

  constructor(
    private readonly db: Db,
    private readonly storage: Storage,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    masterKey: string,
    private readonly publicBaseUrl: string,
  ) {
    this.linkKey = createHash('sha256').update(`genrelay-file-links:${masterKey}`).digest();
  }

  /** Writes the bytes first, then the row: a crash in between leaves an orphan object, never a dangling row. */
  async store(file: NewFile, db: Queryable = this.db): Promise<FileRow> {
    const id = this.ids('file');
    const extension = EXTENSIONS[file.contentType] ?? 'bin';
    const key = `${file.mode}/${file.customerId ?? 'account-tests'}/${id}.${extension}`;
    await this.storage.put(key, file.bytes);
    const result = await db.query<FileRow>(
      INSERT_FILE,
      [id, file.customerId, file.mode, file.taskId, file.purpose, file.contentType, file.bytes.length,
        createHash('sha256').update(file.bytes).digest('hex'), file.width ?? null, file.height ?? null,
        file.durationSeconds ?? null, key, this.clock.now()],
    );
    return result.rows[0]!;
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
