import { prepared, type Queryable } from '../../db/pool.js';
import type { GroupRunner } from '../../db/group-commit.js';

/**
 * Group commit of the file rows written right after their bytes (issue 14): inline reference media and an operator's
 * account-test output (a task's results are written by its settlement instead: wallet/groups.ts). The rows that
 * arrive while one group commits form the next, one statement and one WAL flush for all of them, and each caller gets
 * its row only after that commit (db/group-commit.ts). A row is a plain INSERT with an id chosen here,
 * so a group decides nothing that its rows alone would not: a group that fails (a bad foreign key, a lost connection)
 * runs its rows one by one and fails only the bad one.
 */

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

/** One file row to write: its bytes are already in storage under `storageKey`. */
export interface FileItem {
  id: string;
  customerId: string | null;
  mode: string;
  taskId: string | null;
  purpose: FilePurpose;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  storageKey: string;
  createdAt: Date;
}

const COLUMNS = `id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height, duration_seconds,
             storage_key, created_at, deleted_at`;

/**
 * The columns of a file row as `jsonb_to_recordset` reads them from `fileRecords` (text values cast exactly as the
 * parameters of INSERT_FILE are). Shared with the settlement that writes a result's rows (wallet/groups.ts).
 */
export const FILE_RECORD = `id text, customer_id text, mode text, task_id text, purpose text, content_type text, size_bytes bigint,
            sha256 text, width integer, height integer, duration_seconds double precision, storage_key text,
            created_at timestamptz`;
export const FILE_INSERT_COLUMNS = `id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height,
                      duration_seconds, storage_key, created_at`;

/** One row alone: prepared once per connection (pool.ts), its columns named. */
const INSERT_FILE = prepared('gr_insert_file',
  `INSERT INTO files (${FILE_INSERT_COLUMNS})
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
   RETURNING ${COLUMNS}`);

/** The same row for each element of a JSON array. */
const INSERT_FILES = prepared('gr_insert_files',
  `INSERT INTO files (${FILE_INSERT_COLUMNS})
   SELECT ${FILE_INSERT_COLUMNS}
     FROM jsonb_to_recordset($1::jsonb) AS r(${FILE_RECORD})
    ORDER BY id
   RETURNING ${COLUMNS}`);

/** File items as the JSON records FILE_RECORD reads; `extra` adds the same fields to each (the settlement's item number). */
export function fileRecords(items: FileItem[], extra: Record<string, unknown> = {}): Array<Record<string, unknown>> {
  return items.map((item) => ({
    id: item.id, customer_id: item.customerId, mode: item.mode, task_id: item.taskId, purpose: item.purpose,
    content_type: item.contentType, size_bytes: item.sizeBytes, sha256: item.sha256, width: item.width,
    height: item.height, duration_seconds: item.durationSeconds, storage_key: item.storageKey,
    created_at: item.createdAt.toISOString(), ...extra,
  }));
}

export async function insertFile(db: Queryable, item: FileItem): Promise<FileRow> {
  const result = await db.query<FileRow>(INSERT_FILE, [
    item.id, item.customerId, item.mode, item.taskId, item.purpose, item.contentType, item.sizeBytes, item.sha256,
    item.width, item.height, item.durationSeconds, item.storageKey, item.createdAt,
  ]);
  return result.rows[0]!;
}

/** File rows: each answers its stored row. */
export function fileRunner(db: Queryable): GroupRunner<FileItem, FileRow> {
  return {
    async run(inputs) {
      if (inputs.length === 1) return [await insertFile(db, inputs[0]!)];
      const result = await db.query<FileRow>(INSERT_FILES, [JSON.stringify(fileRecords(inputs))]);
      const byId = new Map(result.rows.map((row) => [row.id, row]));
      // A missing row makes GroupCommitter run the group one by one (it checks every input got an output).
      return inputs.map((input) => byId.get(input.id)!);
    },
    wrote: () => true,
  };
}
