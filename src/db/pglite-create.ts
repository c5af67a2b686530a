import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * A new embedded database is created in a child process (issue 14: the first start's footprint). Creating one is
 * PGlite's initdb: a second PGlite instance with its own WebAssembly memory, a copy of that memory (restored before
 * each of initdb's runs of postgres) and initdb's own module — about 630 MB more external memory in this process. It
 * is garbage once the database exists, but stays reachable for a few turns of the event loop and is then freed only
 * by the next full collection, which a server that has just started may not run for a long time: a first start was
 * resident at 600–700 MiB once ready, every later start at about 200 MiB. In a child process all of it ends with the
 * process, and this one opens the database as any later start does (a first start takes about 0.7 s longer).
 *
 * The child runs PGlite's initdb exactly as opening would (same directory, same start parameters). When it cannot be
 * started at all, nothing is lost: PGlite creates the database here, as before. When it fails, the start fails with
 * what it wrote. It exits when this process goes away (its stdin closes), as an interrupted initdb here would.
 */
const CHILD = `
const { PGlite } = require(process.argv[1]);
process.stdin.on('end', () => process.exit(1)).resume();
PGlite.create(process.argv[2], { startParams: JSON.parse(process.argv[3]) })
  .then((lite) => lite.close())
  .then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
`;

/** stderr kept for the error message. */
const STDERR_LIMIT = 16_384;

/**
 * Creates the database at `path` in a child process when there is none yet. True when it did; false when there
 * already was one or the child could not be started (PGlite then creates it in this process).
 */
export async function createEmbeddedInChild(path: string, startParams: readonly string[]): Promise<boolean> {
  if (existsSync(join(path, 'PG_VERSION'))) return false;
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  // One V8 background thread, as `npm start` runs (initdb took about 0.5 s less with it than with the default four).
  const args = ['--v8-pool-size=1', '-e', CHILD, pglite, path, JSON.stringify(startParams)];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk;
  });
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>((resolve) => {
    child.once('error', () => resolve(null)); // not started (no such executable, no resources): create it here
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  if (outcome === null) return false;
  if (outcome.code !== 0) {
    const how = outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`;
    throw new Error(`creating the embedded database in ${path} failed (${how}): ${stderr.trim()}`);
  }
  return true;
}
