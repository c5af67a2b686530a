import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 9: routes receive services, never the raw database handle — database work lives in a module or workflow
 * method (a workflow that needs a transaction declares `db` in its own narrow deps type).
 */
const HTTP = join(import.meta.dirname, '..', '..', 'src', 'http');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('route dependencies', () => {
  it('no file under src/http reads deps.db', () => {
    const files = sourceFiles(HTTP);
    expect(files.length).toBeGreaterThan(20);
    const offenders = files.filter((path) => /\bdeps\s*\.\s*db\b/.test(readFileSync(path, 'utf8'))).map((path) => relative(HTTP, path));
    expect(offenders).toEqual([]);
  });
});
