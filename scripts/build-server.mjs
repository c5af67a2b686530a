// `npm run build:server` (run by `prepare`): builds dist/server/genrelay.mjs, the bundle bin/genrelay.mjs runs
// (bin/server-bundle.mjs). The launcher also rebuilds it by itself whenever the sources changed.
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../bin/server-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
const path = await buildBundle(root);
console.log(`built ${relative(root, path)} in ${Math.round(performance.now() - started)} ms`);
