import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { startEarlyWork } from '../../bin/early.mjs';
import { codeCachePath } from '../../bin/run-bundle.mjs';
import { buildBundle, bundlePath, freshBundle, sourceDigest } from '../../bin/server-bundle.mjs';
import { openDb } from '../../src/db/pool.js';
import { freePort } from '../harness/app.js';

/**
 * bin/genrelay.mjs runs the server bundle (dist/server/genrelay.cjs) only when it was built from exactly the sources
 * present, rebuilds it when it is missing or stale, and runs the sources through tsx when it cannot be built; it runs
 * the bundle with V8's code cache (bin/run-bundle.mjs), which is written after a run, used after, and ignored whenever
 * it does not fit. Checked on a small package of the same shape (under .tmp/, so esbuild and tsx resolve from the
 * repository's node_modules), then on the real bundle, which must serve.
 */
const ROOT = join(import.meta.dirname, '..', '..');
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const scratch = mkdtempSync(join(ROOT, '.tmp', 'launcher-'));
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-bundle-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

function write(path: string, text: string): void {
  mkdirSync(join(scratch, path, '..'), { recursive: true });
  writeFileSync(join(scratch, path), text);
}

write('package.json', JSON.stringify({ name: 'genrelay', type: 'module' }));
write('tsconfig.json', JSON.stringify({ compilerOptions: { target: 'ES2022', strict: true } }));
mkdirSync(join(scratch, 'bin'));
for (const file of ['genrelay.mjs', 'server-bundle.mjs', 'run-bundle.mjs', 'early.mjs']) copyFileSync(join(ROOT, 'bin', file), join(scratch, 'bin', file));
// What the launcher imports from src/ (plain JavaScript, not part of the bundle): bin/early.mjs asks it which engine opens.
mkdirSync(join(scratch, 'src', 'config'), { recursive: true });
copyFileSync(join(ROOT, 'src', 'config', 'engine.mjs'), join(scratch, 'src', 'config', 'engine.mjs'));
const MAIN = "import { word } from './word.js';\nconsole.log(JSON.stringify({ from: import.meta.url, word }));\n";
write('src/main.ts', MAIN);
const setWord = (word: string) => write('src/word.ts', `export const word: string = '${word}';\n`);
setWord('one');

/** Runs the package's launcher: which module ran (the bundle or src/main.ts) and what it printed. */
function launch(): { from: string; word: string } {
  const run = spawnSync(process.execPath, [join(scratch, 'bin', 'genrelay.mjs')], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const printed = JSON.parse(run.stdout) as { from: string; word: string };
  return { from: printed.from.replace(pathToFileURL(scratch).href, ''), word: printed.word };
}

/**
 * Runs the package's bundle through bin/run-bundle.mjs in a child process, as the launcher does: what it printed, and
 * what became of the code cache (used, rejected by V8, absent: none that fits) and whether a new one was written.
 */
function runWithCache(): { word: string; cache: string; written: boolean } {
  const runner = pathToFileURL(join(scratch, 'bin', 'run-bundle.mjs')).href;
  const script = `const { runBundle } = await import(${JSON.stringify(runner)});
const run = runBundle(${JSON.stringify(bundlePath(scratch))});
process.stderr.write(JSON.stringify({ cache: run.cache, written: await run.written }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '--eval', script], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return { word: (JSON.parse(run.stdout) as { word: string }).word, ...(JSON.parse(run.stderr) as { cache: string; written: boolean }) };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A cache file with `good`'s header (what it was made for) over other data, its checksum made to match. */
function sameHeaderOtherData(good: Buffer, data: Uint8Array): Buffer {
  const header = good.subarray(0, good.indexOf(0x0a)).toString('latin1');
  const madeFor = header.slice(0, header.lastIndexOf(' '));
  return Buffer.concat([Buffer.from(`${madeFor} ${sha256(data)}\n`, 'latin1'), data]);
}

describe('the launcher and the server bundle', () => {
  it('builds the bundle when there is none, runs it while the sources match it, and rebuilds it when they change', () => {
    expect(freshBundle(scratch)).toBeNull();
    expect(launch()).toEqual({ from: '/dist/server/genrelay.cjs', word: 'one' });
    expect(freshBundle(scratch)).toBe(bundlePath(scratch));
    const built = readFileSync(bundlePath(scratch), 'utf8');
    expect(launch()).toEqual({ from: '/dist/server/genrelay.cjs', word: 'one' });

    setWord('two');
    expect(freshBundle(scratch)).toBeNull();
    expect(launch()).toEqual({ from: '/dist/server/genrelay.cjs', word: 'two' });

    // Back to the sources the first bundle was built from (a revert, a copy with the old file times): it is fresh again.
    setWord('one');
    writeFileSync(bundlePath(scratch), built);
    expect(freshBundle(scratch)).toBe(bundlePath(scratch));
    // Any other source file, and tsconfig.json, count too.
    write('src/unused.ts', 'export {};\n');
    expect(freshBundle(scratch)).toBeNull();
    rmSync(join(scratch, 'src', 'unused.ts'));
    expect(freshBundle(scratch)).toBe(bundlePath(scratch));
    write('tsconfig.json', JSON.stringify({ compilerOptions: { target: 'ES2022', strict: false } }));
    expect(freshBundle(scratch)).toBeNull();
  });

  it('runs the sources through tsx when the bundle cannot be built', async () => {
    setWord('three');
    rmSync(join(scratch, 'dist'), { recursive: true, force: true });
    writeFileSync(join(scratch, 'dist'), 'not a folder');
    expect(launch()).toEqual({ from: '/src/main.ts', word: 'three' });
    rmSync(join(scratch, 'dist'));

    // A bundle may hold only src/ and installed packages: an import from elsewhere fails the build, which writes nothing.
    write('src/main.ts', "import { word } from '../outside.js';\nconsole.log(JSON.stringify({ from: import.meta.url, word }));\n");
    write('outside.ts', "export const word: string = 'outside';\n");
    await expect(buildBundle(scratch, { logLevel: 'silent' })).rejects.toThrow(/takes only src\/ and packages; it would take outside\.ts/);
    expect(existsSync(join(scratch, 'dist'))).toBe(false);
    expect(launch()).toEqual({ from: '/src/main.ts', word: 'outside' });
  });

  it('runs the bundle with a code cache: written after a run, used after, ignored and replaced whenever it does not fit', async () => {
    write('src/main.ts', MAIN);
    rmSync(join(scratch, 'outside.ts'), { force: true });
    setWord('four');
    rmSync(join(scratch, 'dist'), { recursive: true, force: true });
    // The launcher builds the bundle, runs it, and then writes its cache (this entry exports no `serving` promise to
    // wait for, so right after the run).
    expect(launch()).toEqual({ from: '/dist/server/genrelay.cjs', word: 'four' });
    const cache = codeCachePath(bundlePath(scratch));
    expect(existsSync(cache)).toBe(true);
    expect(runWithCache()).toEqual({ word: 'four', cache: 'used', written: false });
    const good = readFileSync(cache);

    // Not handed to V8, the run unchanged, a good cache written in its place: corrupt data (one byte), a truncated
    // file, a file that is no cache.
    const corrupt = Buffer.from(good);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 64) ^ 0xff, corrupt.length - 64);
    for (const bad of [corrupt, good.subarray(0, good.length >> 1), Buffer.from('not a code cache')]) {
      writeFileSync(cache, bad);
      expect(runWithCache()).toEqual({ word: 'four', cache: 'absent', written: true });
      expect(runWithCache()).toEqual({ word: 'four', cache: 'used', written: false });
    }
    // Data that passes the file's own checks but V8 refuses (made for another script): V8 compiles from the source.
    writeFileSync(cache, sameHeaderOtherData(good, new Script('"another script"').createCachedData()));
    expect(runWithCache()).toEqual({ word: 'four', cache: 'rejected', written: true });
    expect(runWithCache()).toEqual({ word: 'four', cache: 'used', written: false });

    // A bundle of other code, the same length (V8 itself would only compare lengths): the old cache does not fit it.
    setWord('five');
    await buildBundle(scratch, { logLevel: 'silent' });
    writeFileSync(cache, good);
    expect(runWithCache()).toEqual({ word: 'five', cache: 'absent', written: true });
    expect(runWithCache()).toEqual({ word: 'five', cache: 'used', written: false });
    // Written by rename: nothing else is left next to the bundle.
    expect(readdirSync(join(scratch, 'dist', 'server')).sort()).toEqual(['genrelay.cjs', 'genrelay.code-cache']);

    // A bundle with the right stamp that does not compile (truncated, say) is rebuilt, not run.
    const bundle = readFileSync(bundlePath(scratch), 'latin1');
    writeFileSync(bundlePath(scratch), bundle.slice(0, bundle.indexOf('\n') + 1) + '(function ( {');
    expect(launch()).toEqual({ from: '/dist/server/genrelay.cjs', word: 'five' });
    expect(readFileSync(bundlePath(scratch), 'latin1')).toBe(bundle);
  });

  it("hands over the early work: the sources' digest, and PGlite's WebAssembly compiled on the worker thread, which opens the database", async () => {
    const digest = startEarlyWork(ROOT, { pglite: true });
    expect(await digest).toBe(sourceDigest(ROOT));
    const handOff = Symbol.for('genrelay.earlyPgliteModule');
    const module = await (globalThis as Record<symbol, Promise<unknown>>)[handOff];
    expect(Object.prototype.toString.call(module)).toBe('[object WebAssembly.Module]');
    // openDb takes it (src/db/pglite-early.ts) and PGlite runs on it.
    const earlyData = mkdtempSync(join(tmpdir(), 'genrelay-early-'));
    const db = await openDb({ databaseUrl: null, dataDir: earlyData });
    try {
      expect((globalThis as Record<symbol, unknown>)[handOff]).toBeUndefined();
      expect((await db.query<{ answer: number }>('SELECT 6 * 7 AS answer')).rows).toEqual([{ answer: 42 }]);
    } finally {
      await db.close();
      rmSync(earlyData, { recursive: true, force: true });
    }
  });

  it("the repository's bundle serves, through the launcher and on its own: migrations and the console are found from the package root", async () => {
    const bundle = await buildBundle(ROOT, { logLevel: 'silent' });
    const cache = codeCachePath(bundle);
    rmSync(cache, { force: true });
    const env = { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'warn', DEMO: 'false', GENRELAY_ROLE: 'all' };
    const serve = async (args: string[]) => {
      const port = await freePort();
      const child = spawn(process.execPath, args, { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
      let readiness: Response | null = null;
      for (let attempt = 0; attempt < 600 && readiness?.status !== 200; attempt += 1) {
        expect(child.exitCode).toBeNull();
        readiness = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        if (readiness?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await readiness?.json()).toEqual({ status: 'ready', database: 'pglite' });
      return { child, port };
    };
    const stop = async (child: ChildProcess) => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    };

    // A first start through the launcher (`npm start`): initdb and every migration (read from
    // <root>/src/db/migrations), then /readyz answers 200, and the code cache is written once it serves.
    const first = await serve([join(ROOT, 'bin', 'genrelay.mjs'), 'serve']);
    for (let attempt = 0; attempt < 100 && !existsSync(cache); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statSync(cache).size).toBeGreaterThan(100_000);
    // The operator console from <root>/dist/console: its page when it is built, else the page saying how to build it.
    const admin = await fetch(`http://127.0.0.1:${first.port}/admin/`);
    expect(admin.status).toBe(existsSync(join(ROOT, 'dist', 'console', 'admin', 'index.html')) ? 200 : 503);
    await stop(first.child);

    // The bundle also runs as a plain CommonJS module, without the launcher (and without its cache).
    await stop((await serve([bundle, 'serve'])).child);
  });
});
