/**
 * The server bundle (issue 14): every module of src/ in one ES module, dist/server/genrelay.mjs, with the packages
 * left to node_modules (esbuild --bundle --platform=node --format=esm --packages=external). Node loads it in a
 * fraction of the time tsx takes to compile the sources one by one.
 *
 * Its first line carries the digest of what it was built from: every .ts file under src/ (names and contents),
 * tsconfig.json and BUNDLE_FORMAT below. The launcher (bin/genrelay.mjs) runs the bundle only when the files present
 * digest to the same value, so it never runs code other than the checkout's own sources — after a `git pull`, an
 * edit, or a copy with preserved file times alike.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';

/** Bump when the build options below change, so bundles built with the old ones count as stale. */
const BUNDLE_FORMAT = 1;
const STAMP = '// genrelay server bundle, sources sha256 ';

/** Where the bundle lives in a package checkout. */
export function bundlePath(root) {
  return join(root, 'dist', 'server', 'genrelay.mjs');
}

/** The digest of everything the bundle is made from. */
export function sourceDigest(root) {
  const sources = readdirSync(join(root, 'src'), { recursive: true })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => `src/${file.split(sep).join('/')}`)
    .sort();
  const hash = createHash('sha256').update(`format ${BUNDLE_FORMAT}\0`);
  for (const file of ['tsconfig.json', ...sources]) {
    const content = readFileSync(join(root, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
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
    const head = Buffer.alloc(STAMP.length + 64);
    const read = readSync(fd, head, 0, head.length, 0);
    const text = head.toString('latin1', 0, read);
    return text.startsWith(STAMP) && read === head.length ? text.slice(STAMP.length) : null;
  } finally {
    closeSync(fd);
  }
}

/** The bundle's path when it was built from exactly the sources present; null when it is missing or stale. */
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
    format: 'esm',
    target: 'node20',
    packages: 'external',
    banner: { js: `${STAMP}${digest}` },
    metafile: true,
    write: false,
    logLevel,
  });
  const outside = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('src/'));
  if (outside.length > 0) throw new Error(`the server bundle takes only src/; it would take ${outside.join(', ')}`);
  if (sourceDigest(root) !== digest) throw new Error('the sources changed while the server bundle was built');
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, result.outputFiles.find((file) => file.path === path).contents);
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
  return path;
}
