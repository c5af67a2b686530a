import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle, bundlePath, freshBundle } from '../../bin/server-bundle.mjs';
import { freePort } from '../harness/app.js';

/**
 * bin/genrelay.mjs runs the server bundle (dist/server/genrelay.mjs) only when it was built from exactly the sources
 * present, rebuilds it when it is missing or stale, and runs the sources through tsx when it cannot be built. Checked
 * on a small package of the same shape (under .tmp/, so esbuild and tsx resolve from the repository's node_modules),
 * then on the real bundle, which must serve.
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
for (const file of ['genrelay.mjs', 'server-bundle.mjs']) copyFileSync(join(ROOT, 'bin', file), join(scratch, 'bin', file));
write('src/main.ts', "import { word } from './word.js';\nconsole.log(JSON.stringify({ from: import.meta.url, word }));\n");
const setWord = (word: string) => write('src/word.ts', `export const word: string = '${word}';\n`);
setWord('one');

/** Runs the package's launcher: which module ran (the bundle or src/main.ts) and what it printed. */
function launch(): { from: string; word: string } {
  const run = spawnSync(process.execPath, [join(scratch, 'bin', 'genrelay.mjs')], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  const printed = JSON.parse(run.stdout) as { from: string; word: string };
  return { from: printed.from.replace(pathToFileURL(scratch).href, ''), word: printed.word };
}

describe('the launcher and the server bundle', () => {
  it('builds the bundle when there is none, runs it while the sources match it, and rebuilds it when they change', () => {
    expect(freshBundle(scratch)).toBeNull();
    expect(launch()).toEqual({ from: '/dist/server/genrelay.mjs', word: 'one' });
    expect(freshBundle(scratch)).toBe(bundlePath(scratch));
    const built = readFileSync(bundlePath(scratch), 'utf8');
    expect(launch()).toEqual({ from: '/dist/server/genrelay.mjs', word: 'one' });

    setWord('two');
    expect(freshBundle(scratch)).toBeNull();
    expect(launch()).toEqual({ from: '/dist/server/genrelay.mjs', word: 'two' });

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

  it("the repository's bundle serves: migrations and the console are found from the package root", async () => {
    const bundle = await buildBundle(ROOT, { logLevel: 'silent' });
    const port = await freePort();
    const child = spawn(process.execPath, [bundle, 'serve'], {
      env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', DEMO: 'false', GENRELAY_ROLE: 'all' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    // A first start: initdb and every migration (read from <root>/src/db/migrations), then /readyz answers 200.
    let readiness: Response | null = null;
    for (let attempt = 0; attempt < 600 && readiness?.status !== 200; attempt += 1) {
      expect(child.exitCode).toBeNull();
      readiness = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      if (readiness?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await readiness?.json()).toEqual({ status: 'ready', database: 'pglite' });
    // The operator console from <root>/dist/console: its page when it is built, else the page saying how to build it.
    const admin = await fetch(`http://127.0.0.1:${port}/admin/`);
    expect(admin.status).toBe(existsSync(join(ROOT, 'dist', 'console', 'admin', 'index.html')) ? 200 : 503);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  });
});
