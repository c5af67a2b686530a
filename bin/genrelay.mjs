#!/usr/bin/env node
// Launcher, so `npx genrelay` and `npm start` work right after `npm ci` with no separate build step. It runs the
// server bundle (bin/server-bundle.mjs: src/ and its plain-JavaScript dependencies in one CommonJS file, which Node
// loads in well under half the time tsx takes to compile the sources), with V8's code cache (bin/run-bundle.mjs),
// when the bundle was built from exactly the sources and installed packages present. When it is missing or stale (an
// edit, a `git pull` without `npm ci`, an `npm install`), it is rebuilt first (about a second); when that fails (no
// esbuild, dist/ not writable, sources that do not build), the TypeScript sources run through tsx as they are.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { opensEmbeddedDatabase } from '../src/config/engine.mjs';
import { startEarlyWork } from './early.mjs';
import { buildBundle, bundlePath, bundleStamp, sourceDigest } from './server-bundle.mjs';
import { loadBundle } from './run-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = process.argv[2] === 'mock-upstreams' ? null : await freshLoadedBundle();
if (bundle) {
  void bundle.run();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}

/**
 * The bundle, read and compiled, when it was built from exactly the sources present (rebuilt first when it was not);
 * null when it cannot be built. `genrelay mock-upstreams` runs from the sources: it loads the mocks, TypeScript,
 * through tsx's ES module API, which a script run by vm cannot import.
 */
async function freshLoadedBundle() {
  // On another thread, first: the sources' digest, and PGlite's WebAssembly when the command opens the database.
  const digest = startEarlyWork(root, { pglite: opensEmbeddedDatabase() });
  // Meanwhile the bundle is read and compiled; it runs only if the digest on its first line is that of the sources.
  const bundle = load(bundlePath(root));
  const sources = await digest.catch(() => {
    try {
      return sourceDigest(root);
    } catch {
      return null; // the sources cannot be read: nothing to compare with
    }
  });
  if (bundle && sources !== null && bundleStamp(bundle.bytes) === sources) return bundle;
  return load(await buildBundle(root, { logLevel: 'silent' }).catch(() => null));
}

/** The bundle at `path` read and compiled; null when `path` is null or it cannot be (none there, unreadable, corrupt). */
function load(path) {
  try {
    return path === null ? null : loadBundle(path);
  } catch {
    return null;
  }
}
