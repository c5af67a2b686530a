import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the nearest package.json named `genrelay` at or above `moduleUrl`'s folder. Files read at run time
 * (the migrations, the built console, the console's vite config) are found from it, so the same code runs from its
 * sources (src/…, tsx and vitest) and from the bundle (dist/server/genrelay.mjs, one module for all of src/).
 */
export function findPackageRoot(moduleUrl: string): string {
  let directory = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (packageName(join(directory, 'package.json')) === 'genrelay') return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no package.json named genrelay at or above ${fileURLToPath(moduleUrl)}`);
    directory = parent;
  }
}

function packageName(path: string): unknown {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined; // none here, or not one we can read
  }
}

let root: string | undefined;

/** This process's package root (found once). */
export function packageRoot(): string {
  root ??= findPackageRoot(import.meta.url);
  return root;
}
