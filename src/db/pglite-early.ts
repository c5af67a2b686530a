/**
 * PGlite's WebAssembly compiled ahead: the launcher (bin/genrelay.mjs, bin/early.mjs) starts compiling it on a worker
 * thread before it loads the server, and leaves the promise of the module here. openDb (pool.ts) hands the
 * module to PGlite; without one (no launcher: tests, `tsx src/main.ts`; a failed compile) PGlite compiles it itself.
 */
const HAND_OFF = Symbol.for('genrelay.earlyPgliteModule');

/** The module the launcher compiled, or undefined. Taken once. */
export async function takeEarlyPgliteModule(): Promise<WebAssembly.Module | undefined> {
  const holder = globalThis as { [HAND_OFF]?: Promise<WebAssembly.Module | undefined> };
  const early = holder[HAND_OFF];
  delete holder[HAND_OFF];
  return early;
}
