import { prepared, type Queryable } from '../../db/pool.js';
import type { GroupRunner } from '../../db/group-commit.js';

/**
 * Group commit of the file rows a worker writes for stored results (issue 14). A result's row was the one write of a
 * task's life that still took a transaction of its own, about half of the statements the worker sent; the rows that
 * arrive while one group commits now form the next, one statement and one WAL flush for all of them, and each
 * caller gets its row only after that commit (db/group-commit.ts). A row is a plain INSERT with an id chosen here,
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

/** Every result a worker stores goes through it: prepared once per connection (pool.ts), its columns named. */
const INSERT_FILE = prepared('gr_insert_file',
  `INSERT INTO files (id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height,
                      duration_seconds, storage_key, created_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
   RETURNING ${COLUMNS}`);

/** The same row for each element of a JSON array; the text values are cast exactly as the parameters above are. */
const INSERT_FILES = prepared('gr_insert_files',
  `INSERT INTO files (id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height,
                      duration_seconds, storage_key, created_at)
   SELECT id, customer_id, mode, task_id, purpose, content_type, size_bytes, sha256, width, height, duration_seconds,
          storage_key, created_at
     FROM jsonb_to_recordset($1::jsonb)
       AS r(id text, customer_id text, mode text, task_id text, purpose text, content_type text, size_bytes bigint,
            sha256 text, width integer, height integer, duration_seconds double precision, storage_key text,
            created_at timestamptz)
    ORDER BY id
   RETURNING ${COLUMNS}`);

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
      const items = inputs.map((input) => ({
        id: input.id, customer_id: input.customerId, mode: input.mode, task_id: input.taskId, purpose: input.purpose,
        content_type: input.contentType, size_bytes: input.sizeBytes, sha256: input.sha256, width: input.width,
        height: input.height, duration_seconds: input.durationSeconds, storage_key: input.storageKey,
        created_at: input.createdAt.toISOString(),
      }));
      const result = await db.query<FileRow>(INSERT_FILES, [JSON.stringify(items)]);
      const byId = new Map(result.rows.map((row) => [row.id, row]));
      // A missing row makes GroupCommitter run the group one by one (it checks every input got an output).
      return inputs.map((input) => byId.get(input.id)!);
    },
    wrote: () => true,
  };
}
