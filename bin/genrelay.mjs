#!/usr/bin/env node
// Launcher, so `npx genrelay` and `npm start` work right after `npm ci` with no separate build step. It runs the
// server bundle (bin/server-bundle.mjs: src/ and its plain-JavaScript dependencies in one module, which Node loads in
// well under half the time tsx takes to compile the sources) when the bundle was built from exactly the sources and
// installed packages present. When it is missing or stale (an edit, a `git pull` without `npm ci`, an `npm install`),
// it is rebuilt first (about a second); when that fails (no esbuild, dist/ not writable, sources that do not build),
// the TypeScript sources run through tsx as they are.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildBundle, freshBundle } from './server-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = freshBundle(root) ?? (await buildBundle(root, { logLevel: 'silent' }).catch(() => null));
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
