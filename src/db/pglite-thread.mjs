/**
 * The embedded database on a thread of its own (EMBEDDED_DB_THREAD=true, db/pglite-thread-client.ts): a worker thread
 * that owns the PGlite instance and runs the statements the server's thread sends it, so PostgreSQL's work in
 * WebAssembly runs on another core than the HTTP server's JavaScript. Statements run exactly as the in-thread engine
 * runs them (pool.ts `embeddedDb`): with parameters as one protocol call each (pglite-statements.mjs), without them
 * through PGlite's `exec` (several statements allowed, the last one's rows answered), each in a transaction of its own
 * or in the transaction named, with int8 parsed as BigInt (D7).
 *
 * Plain JavaScript loaded from disk by path (packageRoot()/src/db/pglite-thread.mjs), so the server bundle and the
 * TypeScript sources start the same file. Messages: `{ id, op, … }` in, `{ id, ok: true, value }` or
 * `{ id, ok: false, error }` out, where `error` keeps the SQLSTATE and PostgreSQL's other fields, which a structured
 * clone of the error would drop; `{ ready: true }` or `{ failed: error }` once at start.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PgliteStatements } from './pglite-statements.mjs';

const parsers = { 20: (value) => BigInt(value) };
/** Open transactions by id: PGlite's transaction object, how to end it, and its outcome. */
const transactions = new Map();
const ROLLBACK = Symbol('rollback');

/**
 * What a caller needs of an error, as plain data: its message and PostgreSQL's fields (SQLSTATE `code`, `constraint`,
 * `detail`, …). Only text, number and boolean fields cross: PGlite's errors also carry the query's options, whose
 * parser functions cannot be posted.
 */
function errorFields(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = { name: error.name, message: error.message };
  for (const [key, value] of Object.entries(error)) {
    if (['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  return fields;
}

function target(lite, tx) {
  if (tx === undefined) return lite;
  const open = transactions.get(tx);
  if (!open) throw new Error('transaction is closed');
  return open.handle;
}

function operations(lite) {
  const statements = new PgliteStatements(lite, parsers);
  return {
    async query({ text, values, tx }) {
      const on = target(lite, tx);
      if (values === undefined || values.length === 0) {
        const results = await on.exec(text, { parsers });
        const last = results.at(-1);
        return { rows: last?.rows ?? [], affectedRows: last?.affectedRows };
      }
      return statements.run(text, values, tx !== undefined);
    },
    /** Answered once PGlite holds its transaction lock and BEGIN ran; `end` commits or rolls back. */
    begin({ tx }) {
      return new Promise((opened, failed) => {
        const entry = { handle: null, end: null, finished: null };
        const ending = new Promise((resolve) => {
          entry.end = resolve;
        });
        entry.finished = lite.transaction(async (handle) => {
          entry.handle = handle;
          transactions.set(tx, entry);
          opened(undefined);
          if (!(await ending)) throw ROLLBACK;
        });
        // BEGIN itself failed: the callback never ran.
        entry.finished.catch((error) => {
          if (entry.handle === null) failed(error);
        });
      });
    },
    async end({ tx, commit }) {
      const open = transactions.get(tx);
      if (!open) throw new Error('transaction is closed');
      transactions.delete(tx);
      open.end(commit);
      try {
        await open.finished;
      } catch (error) {
        if (error !== ROLLBACK) throw error;
      }
    },
    async close() {
      await lite.close();
    },
  };
}

try {
  const { dataDir, dump, startParams, wasmModule } = workerData;
  const lite = dump
    ? await PGlite.create({ loadDataDir: new Blob([dump]), startParams })
    : await PGlite.create(dataDir, { startParams, ...(wasmModule ? { pgliteWasmModule: wasmModule } : {}) });
  const run = operations(lite);
  /** An answer that cannot be posted (a value structured clone refuses) goes back as that error instead. */
  const answer = (id, value) => {
    try {
      parentPort.postMessage({ id, ok: true, value });
    } catch (error) {
      parentPort.postMessage({ id, ok: false, error: errorFields(error) });
    }
  };
  parentPort.on('message', (request) => {
    Promise.resolve()
      .then(() => run[request.op](request))
      .then(
        (value) => answer(request.id, value),
        (error) => parentPort.postMessage({ id: request.id, ok: false, error: errorFields(error) }),
      )
      .finally(() => {
        if (request.op === 'close') parentPort.close();
      });
  });
  parentPort.postMessage({ ready: true });
} catch (error) {
  parentPort.postMessage({ failed: errorFields(error) });
  parentPort.close();
}
