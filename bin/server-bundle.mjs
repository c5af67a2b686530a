/**
 * The server bundle (issue 14): src/ and its plain-JavaScript dependencies in one CommonJS file,
 * dist/server/genrelay.cjs. Node loads one file several times faster than tsx compiles the ~260 sources one by one,
 * and faster than it resolves and reads the ~1,500 files of the dependencies; CommonJS because V8's code cache
 * (bin/run-bundle.mjs) takes a script, not an ES module (bench/embedded-footprint.ts measures the warm start).
 * The sources stay ES modules: `import.meta.url` becomes the bundle's file URL, dynamic `import()` of a package
 * becomes `require` (every external package has a CommonJS entry), and top-level await, which CommonJS cannot
 * express, fails the build (the launcher then runs the sources through tsx).
 *
 * Packages stay in node_modules (required at run time) when bundling them would break them or load them for nothing:
 * EXTERNAL below. Every other package is bundled, so the bundle depends on the installed versions too.
 *
 * Its first line carries the digest of what it was built from: every .ts file under src/ (names and contents),
 * tsconfig.json, npm's record of the installed packages (node_modules/.package-lock.json, else package-lock.json)
 * and BUNDLE_FORMAT. The launcher (bin/genrelay.mjs) runs the bundle only when the files present digest to the same
 * value, so it never runs other code than the checkout's sources and installed packages — after a `git pull`, an
 * edit, an `npm install` or a copy with preserved file times alike.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Bump when the build options below change, so bundles built with the old ones count as stale. */
const BUNDLE_FORMAT = 4;
const STAMP = '// genrelay server bundle, sources sha1 ';

/**
 * Packages required from node_modules at run time rather than bundled: PGlite reads its .wasm and .data files next to
 * its own modules; argon2 is a native addon; pino starts transports in worker threads by file path; pg and ioredis
 * are loaded only when DATABASE_URL or REDIS_URL is set; tsx, esbuild and vite are tools (the mock upstreams, this
 * build, the console build).
 */
const EXTERNAL = new Set(['@electric-sql/pglite', '@node-rs/argon2', 'pino', 'pg', 'ioredis', 'tsx', 'esbuild', 'vite']);

/**
 * What `import.meta.url` of every bundled ES module becomes: the bundle's own file URL, defined by its first lines.
 * Those lines open with the strict-mode directive that esbuild writes after them (where it would no longer count).
 */
const MODULE_URL = '__genrelayModuleUrl';
const MODULE_URL_DEFINITION = `'use strict';\nconst ${MODULE_URL} = require('node:url').pathToFileURL(__filename).href;`;

/**
 * The bundle's code is the body of a function taking CommonJS's module arguments, so that bin/run-bundle.mjs compiles
 * the file as it is (a copy with a wrapper around it costs 5.6 MB more memory and some 20 ms): run as a script, the
 * file's value is that function. Run by Node as a CommonJS module (`node dist/server/genrelay.cjs serve`, the
 * bundle's tests), it calls the function itself with its own arguments.
 */
const WRAPPER_OPEN = "(typeof module === 'object' && require.main === module ? (run) => run(exports, require, module, __filename, __dirname) : (run) => run)(function (exports, require, module, __filename, __dirname) {";
const WRAPPER_CLOSE = '\n});';

/** Where the bundle lives in a package checkout. */
export function bundlePath(root) {
  return join(root, 'dist', 'server', 'genrelay.cjs');
}

/** The ES module bundle of BUNDLE_FORMAT 3 and earlier, removed when a new bundle is written. */
const formerBundlePath = (root) => join(root, 'dist', 'server', 'genrelay.mjs');

function readOrNull(path) {
  try {
    return readFileSync(path);
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
}

/** The .ts and .mjs files under `directory` (.mjs: plain-JavaScript sources, bundled or loaded by path), as paths relative to `root` with / separators. */
function typeScriptFiles(root, directory, found = []) {
  for (const entry of readdirSync(join(root, directory), { withFileTypes: true })) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory()) typeScriptFiles(root, path, found);
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.mjs')) found.push(path);
  }
  return found;
}

/**
 * The digest of everything the bundle is made from (every start computes it: about 1.3 MB read and hashed). SHA-1
 * tells versions apart here; nothing relies on it against an adversary (whoever edits src/ runs what they like).
 */
export function sourceDigest(root) {
  const hash = createHash('sha1').update(`format ${BUNDLE_FORMAT}\0`);
  const installed = readOrNull(join(root, 'node_modules', '.package-lock.json')) ?? readOrNull(join(root, 'package-lock.json'));
  hash.update(`installed\0${installed?.length ?? -1}\0`).update(installed ?? '');
  for (const file of ['tsconfig.json', ...typeScriptFiles(root, 'src').sort()]) {
    const content = readFileSync(join(root, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/** The digest stamped on a bundle's first line (`head`: its first bytes, or all of them), or null without a stamp. */
export function bundleStamp(head) {
  const text = head.toString('latin1', 0, STAMP.length + 40);
  return text.length === STAMP.length + 40 && text.startsWith(STAMP) ? text.slice(STAMP.length) : null;
}

/** The digest stamped on the bundle's first line, or null when there is no bundle (or no stamp). */
function stampedDigest(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(STAMP.length + 40);
    return bundleStamp(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
  } finally {
    closeSync(fd);
  }
}

/** The bundle's path when it was built from exactly the sources and packages present; null when missing or stale. */
export function freshBundle(root) {
  const path = bundlePath(root);
  const stamped = stampedDigest(path);
  if (stamped === null) return null;
  try {
    return stamped === sourceDigest(root) ? path : null;
  } catch {
    return null; // the sources cannot be read: nothing to compare with
  }
}

const packageName = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/**
 * Builds the bundle and returns its path. The sources are digested before and after the build and nothing is written
 * unless both agree; the file is replaced by a rename, so a process starting meanwhile reads the old bundle or the
 * new one, never half of one. Throws when esbuild is missing, the sources do not build, or dist/ is not writable.
 */
export async function buildBundle(root, { logLevel = 'warning' } = {}) {
  const { build } = await import('esbuild');
  const path = bundlePath(root);
  const digest = sourceDigest(root);
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['src/main.ts'],
    outfile: path,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // `import()` of an external package as `require`: a script run by vm (bin/run-bundle.mjs) has no module loader.
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': MODULE_URL },
    banner: { js: `${STAMP}${digest}\n${WRAPPER_OPEN}\n${MODULE_URL_DEFINITION}` },
    footer: { js: WRAPPER_CLOSE },
    plugins: [{
      name: 'genrelay-external',
      setup(esbuild) {
        esbuild.onResolve({ filter: /^[^./]/ }, ({ path: specifier }) =>
          specifier.startsWith('node:') || EXTERNAL.has(packageName(specifier)) ? { path: specifier, external: true } : undefined);
      },
    }],
    metafile: true,
    write: false,
    logLevel,
  });
  // Only sources under src/ (which the digest covers) and installed packages (node_modules may be a link elsewhere).
  const outside = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('src/') && !input.split('/').includes('node_modules'));
  if (outside.length > 0) throw new Error(`the server bundle takes only src/ and packages; it would take ${outside.slice(0, 5).join(', ')}`);
  // An `import.meta` other than `import.meta.url` would be an empty object in CommonJS: refused rather than broken.
  const importMeta = result.warnings.find((warning) => warning.id === 'empty-import-meta');
  if (importMeta) throw new Error(`the server bundle supports only import.meta.url: ${importMeta.location?.file}:${importMeta.location?.line}`);
  if (sourceDigest(root) !== digest) throw new Error('the sources changed while the server bundle was built');
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, asciiOnly(result.outputFiles.find((file) => file.path === path).text));
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
  rmSync(formerBundlePath(root), { force: true });
  return path;
}

/**
 * esbuild escapes every non-ASCII character in code (its default charset); comments it keeps from packages may still
 * hold some. Those become `\uXXXX` too (inert in a comment), so the bundle is ASCII and loads as a one-byte string,
 * without a UTF-8 decode (bin/run-bundle.mjs).
 */
function asciiOnly(text) {
  return text.replace(/[^\0-\x7f]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
