import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseConfig } from '../config/index.js';

/**
 * Compiling PGlite's WebAssembly (9 MB) takes about 0.1 s of a background thread, and PGlite starts it only when the
 * database is opened, after the whole server has loaded. src/main.ts imports this module first, so when the command
 * will open the embedded database (`serve`, the default, `migrate`, `admin`; no DATABASE_URL) the compile runs while
 * the rest of the server loads, and openDb (pool.ts) hands the compiled module to PGlite: a warm start measured about
 * 40 ms shorter. Anything unusual (a bad configuration, a missing file) leaves PGlite to compile it itself.
 */
let compiling: Promise<WebAssembly.Module | undefined> | undefined;

const OPENS_EMBEDDED = new Set([undefined, 'serve', 'migrate', 'admin']);

// The WebAssembly global's value (this project's TypeScript libraries declare only its types).
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;

function startCompile(): void {
  try {
    if (!OPENS_EMBEDDED.has(process.argv[2]) || parseConfig().databaseUrl !== null) return;
    const bytes = readFileSync(createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm'));
    compiling = wasm.compile(bytes).catch(() => undefined);
  } catch {
    compiling = undefined; // a configuration error is reported by the command itself
  }
}

startCompile();

/** PGlite's WebAssembly module when this process compiled it ahead; undefined otherwise. Taken once. */
export async function takeEarlyPgliteModule(): Promise<WebAssembly.Module | undefined> {
  const module = await compiling;
  compiling = undefined;
  return module;
}
