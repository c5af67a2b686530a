import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * House rules checked on the source tree. C53 (SEMANTICS S1): no global `fetch`, `node:http(s)` request functions or
 * direct `undici` use outside the guarded client (provider clients for operator-configured base URLs will join
 * the allow-list). Config discipline: `process.env` only in src/config/.
 */
const ROOT = join(import.meta.dirname, '..', '..', 'src');
const OUTBOUND_ALLOWED = new Set(['providers/shared/safe-fetch.ts', 'providers/shared/url-policy.ts', 'providers/shared/http.ts', 'providers/shared/http-stream.ts']);

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('source rules', () => {
  const files = sourceFiles(ROOT).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it('C53: outbound HTTP only through the guarded client', () => {
    const offenders = files
      .filter((file) => !OUTBOUND_ALLOWED.has(file.path))
      .filter((file) =>
        /(^|[^.\w])fetch\s*\(/m.test(file.text) ||
        /from ['"](node:)?https?['"]/.test(file.text) ||
        /from ['"]undici['"]/.test(file.text) ||
        /\bhttps?\.(request|get)\s*\(/.test(file.text),
      )
      .map((file) => file.path);
    expect(offenders).toEqual([]);
  });

  it('reads process.env only in src/config/', () => {
    const offenders = files.filter((file) => !file.path.startsWith('config/') && /process\.env/.test(file.text)).map((file) => file.path);
    expect(offenders).toEqual([]);
  });

  it('keeps every source file under 500 lines', () => {
    const long = files.filter((file) => file.text.split('\n').length > 500).map((file) => file.path);
    expect(long).toEqual([]);
  });
});
