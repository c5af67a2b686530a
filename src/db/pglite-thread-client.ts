import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import { packageRoot } from '../lib/package-root.js';
import { noteCommit, noteStatement } from './commit-tracker.js';
import { once, toQueryResult } from './handle-parts.js';
import type { Db, Queryable } from './pool.js';

/**
 * The embedded engine with PGlite on a worker thread of its own (EMBEDDED_DB_THREAD=true; the thread's side is
 * db/pglite-thread.mjs): the server's thread sends each statement and transaction step as a message and awaits the
 * answer, so PostgreSQL's work in WebAssembly runs on another core while this thread serves HTTP. Same database, same
 * statements, same locking as the in-thread engine (pool.ts `embeddedDb`): one session, every statement and
 * transaction serialised on it by PGlite's locks. A statement sent while a transaction is open waits for it, as in
 * the thread.
 */
interface Answer {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: Record<string, unknown> & { message: string; name?: string };
}

export interface ThreadedOptions {
  /** A database already created in `dataDir` (pool.ts creates a new one in a child process first). */
  dataDir?: string;
  /** Or a dump to load (tests). */
  dump?: Uint8Array;
  startParams: string[];
  wasmModule?: WebAssembly.Module;
  /**
   * The thread died while the database was open (not closed by `close`): every pending and later statement fails
   * with `error`. By default the process then ends with it, as an uncaught error, so that a supervisor restarts the
   * server instead of leaving it answering 500 without a database; tests pass their own.
   */
  onLost?: (error: Error) => void;
}

/** The handle's worker, for tests that need to stop the thread from outside. */
export const DATABASE_THREAD = Symbol('genrelay.databaseThread');

function endProcess(error: Error): void {
  setImmediate(() => {
    throw error;
  });
}

/** An error from the database thread, with its SQLSTATE (`code`) and PostgreSQL's other fields. */
function revive(fields: NonNullable<Answer['error']>): Error {
  const error = new Error(fields.message);
  const { message: _message, stack: _stack, ...rest } = fields;
  return Object.assign(error, rest);
}

export async function openThreadedEmbedded(options: ThreadedOptions): Promise<Db> {
  const worker = new Worker(join(packageRoot(), 'src', 'db', 'pglite-thread.mjs'), {
    workerData: { dataDir: options.dataDir, dump: options.dump, startParams: options.startParams, wasmModule: options.wasmModule },
    transferList: options.dump ? [options.dump.buffer as ArrayBuffer] : [],
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let gone: Error | null = null;
  await new Promise<void>((resolve, reject) => {
    const settle = (outcome: () => void) => {
      worker.off('message', started).off('error', failedToStart).off('exit', exitedBeforeStart);
      outcome();
    };
    const started = (message: { ready?: boolean; failed?: Answer['error'] }) =>
      settle(() => (message.ready ? resolve() : reject(revive(message.failed ?? { message: 'the database thread did not start' }))));
    const failedToStart = (error: Error) => settle(() => reject(error));
    const exitedBeforeStart = (code: number) => settle(() => reject(new Error(`the database thread exited (${code}) before it opened the database`)));
    worker.on('message', started).on('error', failedToStart).on('exit', exitedBeforeStart);
  });
  worker.on('message', (answer: Answer) => {
    const waiter = pending.get(answer.id);
    if (!waiter) return;
    pending.delete(answer.id);
    if (answer.ok) waiter.resolve(answer.value);
    else waiter.reject(revive(answer.error!));
  });
  let closing = false;
  /** The thread ended: what waits and what comes fails; a loss the handle's own close did not cause is reported once. */
  const lost = (error: Error) => {
    for (const waiter of pending.values()) waiter.reject(gone ?? error);
    pending.clear();
    if (gone) return;
    gone = error;
    if (!closing) (options.onLost ?? endProcess)(error);
  };
  worker.on('error', (error) => lost(error));
  worker.on('exit', (code) => lost(new Error(`the database thread exited (${code})`)));

  const call = <T>(op: string, fields: Record<string, unknown> = {}): Promise<T> => {
    if (gone) return Promise.reject(gone);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, op, ...fields });
    });
  };
  const run = async <Row extends pg.QueryResultRow>(text: string, values: unknown[] | undefined, tx?: number) => {
    const result = await call<{ rows: Row[]; affectedRows?: number }>('query', { text, values, tx });
    return toQueryResult(result.rows, result.affectedRows);
  };

  let nextTransaction = 1;
  const handle: Db = {
    engine: 'pglite',
    blocksThread: false,
    async query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      const result = await run<Row>(text, values);
      noteStatement(text);
      return result;
    },
    async transaction(work) {
      const tx = nextTransaction++;
      await call('begin', { tx });
      // A statement used after its transaction ended would run outside it: refused, as PGlite's own object refuses it.
      let open = true;
      const scope: Queryable = {
        query: <Row extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
          open ? run<Row>(text, values, tx) : Promise.reject(new Error('transaction is closed')),
      };
      let result;
      try {
        result = await work(scope);
      } catch (error) {
        open = false;
        await call('end', { tx, commit: false }).catch(() => {});
        throw error;
      }
      open = false;
      await call('end', { tx, commit: true });
      noteCommit();
      return result;
    },
    listenClient: async () => null,
    close: once(async () => {
      closing = true;
      await call('close').catch(() => {});
      await worker.terminate().catch(() => 0);
      gone ??= new Error('the database thread is closed');
    }),
  };
  Object.defineProperty(handle, DATABASE_THREAD, { value: worker });
  return handle;
}
