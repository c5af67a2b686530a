import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findPackageRoot, packageRoot } from '../../src/lib/package-root.js';

/** The package root is found by walking up to the nearest package.json named genrelay, from src/ or from the bundle. */
const scratch = mkdtempSync(join(tmpdir(), 'genrelay-root-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return pathToFileURL(path).href;
}

describe('package root', () => {
  const root = join(scratch, 'app', 'node_modules', 'genrelay');
  file(join(root, 'package.json'), JSON.stringify({ name: 'genrelay' }));
  // A package.json of another name (or an unreadable one) on the way up is passed over.
  file(join(root, 'dist', 'package.json'), JSON.stringify({ name: 'not-genrelay' }));
  file(join(root, 'src', 'db', 'package.json'), '{ not json');

  it('is the same folder from a source module and from the bundle', () => {
    expect(findPackageRoot(file(join(root, 'src', 'config', 'index.ts'), ''))).toBe(root);
    expect(findPackageRoot(file(join(root, 'src', 'db', 'migrate.ts'), ''))).toBe(root);
    expect(findPackageRoot(file(join(root, 'dist', 'server', 'genrelay.cjs'), ''))).toBe(root);
  });

  it('a module outside any genrelay package is an error naming it', () => {
    const outside = file(join(scratch, 'elsewhere', 'main.mjs'), '');
    expect(() => findPackageRoot(outside)).toThrow(/no package\.json named genrelay at or above .*elsewhere/);
  });

  it("this process's root is the repository (where the migrations are)", () => {
    expect(packageRoot()).toBe(join(import.meta.dirname, '..', '..'));
  });
});
