/**
 * Runs the server bundle (dist/server/genrelay.cjs, bin/server-bundle.mjs) with V8's code cache (issue 14). V8 has to
 * parse the bundle's 5.6 MB and compile every function the start-up calls; the code cache is that work saved by an
 * earlier start (vm.Script's cachedData), a few times faster to load than to redo. Node 20 offers it for scripts only
 * (module.enableCompileCache is Node 22), hence a CommonJS bundle run here as a vm.Script, wrapped like any CommonJS
 * module (its own `require`, `module`, `__filename`, `__dirname`).
 *
 * The cache, dist/server/genrelay.code-cache, is one header line and V8's data. The header names what the data was
 * made for: the SHA-256 of the bundle's bytes, the Node version, the architecture and V8's version, and the SHA-256
 * of the data itself. A cache made for anything else, truncated, corrupt or unreadable is not handed to V8; one V8
 * refuses (`cachedDataRejected`: other V8 flags, say) is ignored by V8 itself. Either way the bundle compiles from its
 * source as it would without a cache, and a new cache is written once the server serves: the entry module's exported
 * `serving` promise (src/main.ts) has resolved, so the functions the start-up ran are compiled and in it. An entry
 * without that export gets its cache right after it ran. The file is replaced by a rename, so a process starting
 * meanwhile reads the old cache or the new one; a failed write (a read-only dist/) is ignored. Nothing depends on the
 * cache but the time a start takes.
 */
import { createHash } from 'node:crypto';
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

const MAGIC = 'genrelay code cache 1';
/** The header line is far shorter: a longer one is not a header. */
const MAX_HEADER = 512;

/** The code cache of a bundle: next to it, `.code-cache` for `.cjs`. */
export function codeCachePath(bundle) {
  return bundle.replace(/\.cjs$/, '') + '.code-cache';
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** What a cache must have been made for: these bundle bytes on this Node, architecture and V8. */
function cacheKey(bundleBytes) {
  return `${sha256(bundleBytes)} ${process.version} ${process.arch} ${process.versions.v8}`;
}

/** The cached data when the file is a whole cache made for `key`; undefined otherwise (missing, other, corrupt). */
function readCache(path, key) {
  let file;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  const end = file.subarray(0, MAX_HEADER).indexOf(0x0a);
  if (end < 0) return undefined;
  const header = file.toString('latin1', 0, end);
  const data = file.subarray(end + 1);
  return header === `${MAGIC} ${key} ${sha256(data)}` ? data : undefined;
}

function writeCache(path, key, data) {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${MAGIC} ${key} ${sha256(data)}\n`, 'latin1'), data]));
    renameSync(temporary, path);
    return true;
  } catch {
    rmSync(temporary, { force: true });
    return false;
  }
}

/**
 * Reads and compiles the bundle at `bundle` without running it: its bytes (the launcher checks the stamp on their
 * first line), what became of the cache — `used` (V8 took it), `rejected` (V8 refused it), `absent` (none fit) — and
 * `run()`, which runs it in this process and returns a promise settling with whether a new cache was written (false
 * at once when the cache was used, since it needs no new one).
 */
export function loadBundle(bundle) {
  const bytes = readFileSync(bundle);
  const key = cacheKey(bytes);
  const cachePath = codeCachePath(bundle);
  const cachedData = readCache(cachePath, key);
  // An ASCII bundle (bin/server-bundle.mjs makes it so) reads as Latin-1 at a fraction of a UTF-8 decode's cost.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const script = new Script(source, { filename: bundle, cachedData });
  const cache = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used';
  const run = () => {
    // The script's value is the bundle's code as a function of CommonJS's module arguments (bin/server-bundle.mjs).
    const main = script.runInThisContext();
    if (typeof main !== 'function') throw new Error(`${bundle} is not a server bundle`);
    const module = { exports: {}, filename: bundle };
    main(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
    if (cache === 'used') return Promise.resolve(false);
    const serving = module.exports.serving instanceof Promise ? module.exports.serving : Promise.resolve();
    return serving.then(
      () => new Promise((resolve) => setImmediate(() => resolve(writeCache(cachePath, key, script.createCachedData())))),
      () => false,
    );
  };
  return { bytes, cache, run };
}

/** Reads, compiles and runs the bundle at `bundle` (loadBundle): what became of the cache, and `written`. */
export function runBundle(bundle) {
  const { cache, run } = loadBundle(bundle);
  return { cache, written: run() };
}
