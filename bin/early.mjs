/**
 * Start-up work the launcher hands to a worker thread (issue 14), so that it runs on the other core while the main
 * thread reads and compiles the server bundle:
 *
 * - the digest of the sources (server-bundle.mjs: about 270 files read and hashed, some 30 ms), which decides whether
 *   the bundle is fresh. The main thread compiles the bundle meanwhile but runs it only once the digest matches.
 * - when the command will open the embedded database (`serve`, the default, `migrate`, `admin`, with no
 *   DATABASE_URL), PGlite's 9 MB of WebAssembly, read and compiled. PGlite would compile it only when the database is
 *   opened, after the whole server has loaded, and reading the file and handing V8 the bytes alone cost the main
 *   thread about 70 ms (on this kind of virtual machine, first writes to fresh memory are most of it). The compiled
 *   module crosses threads without being copied or compiled again; src/db/pglite-early.ts hands it to PGlite. When
 *   the guess is wrong (the configuration turns out to be invalid) it is simply not used.
 *
 * The worker ends once it has posted both. When anything fails the launcher digests the sources itself and PGlite
 * compiles its WebAssembly itself: nothing depends on this but the time a start takes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { sourceDigest } from './server-bundle.mjs';

/** Where the bundle looks for the compiled module (src/db/pglite-early.ts). */
const HAND_OFF = Symbol.for('genrelay.earlyPgliteModule');

/**
 * Starts the worker. Returns the promise of the sources' digest (rejected when the worker could not give it); with
 * `pglite`, leaves the promise of PGlite's compiled module (undefined if it failed) for src/db/pglite-early.ts.
 */
export function startEarlyWork(root, { pglite }) {
  const wasm = pglite ? pgliteWasmPath(root) : null;
  const worker = new Worker(new URL(import.meta.url), { workerData: { genrelayEarlyWork: true, root, wasm } });
  const failed = new Promise((resolve) => {
    worker.once('error', resolve);
    worker.once('exit', resolve);
  });
  const message = (key) => new Promise((resolve) => worker.on('message', (posted) => key in posted && resolve(posted[key])));
  if (wasm) globalThis[HAND_OFF] = Promise.race([message('pgliteWasmModule'), failed.then(() => undefined)]);
  return Promise.race([message('digest'), failed.then(() => Promise.reject(new Error('the early worker failed')))]);
}

function pgliteWasmPath(root) {
  try {
    return createRequire(join(root, 'package.json')).resolve('@electric-sql/pglite/pglite.wasm');
  } catch {
    return null; // PGlite compiles it itself (or reports what is missing)
  }
}

if (!isMainThread && workerData?.genrelayEarlyWork === true) {
  parentPort.postMessage({ digest: sourceDigest(workerData.root) });
  if (workerData.wasm) parentPort.postMessage({ pgliteWasmModule: new WebAssembly.Module(readFileSync(workerData.wasm)) });
}
