/**
 * `npm start` (package.json) gives the server glibc's malloc settings — two arenas, a fixed trim threshold — unless the
 * operator set GLIBC_TUNABLES, and Node `--v8-pool-size=1`. The script is run as npm runs it on Linux (`sh -c`), with
 * a stand-in `node` first on PATH that prints what it was given.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
const bin = mkdtempSync(join(tmpdir(), 'genrelay-npm-start-'));
writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf "%s\\n" "GLIBC_TUNABLES=${GLIBC_TUNABLES-<unset>}" "$@"\n');
chmodSync(join(bin, 'node'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function run(extra: Record<string, string>): string[] {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, ...extra };
  if (!('GLIBC_TUNABLES' in extra)) delete env.GLIBC_TUNABLES;
  const result = spawnSync('sh', ['-c', script], { cwd: ROOT, env, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim().split('\n');
}

describe('npm start', () => {
  it('sets two malloc arenas and a fixed trim threshold, and one V8 pool thread', () => {
    expect(run({})).toEqual([
      'GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=8388608',
      '--v8-pool-size=1',
      'bin/genrelay.mjs',
      'serve',
    ]);
  });

  it("keeps the operator's own GLIBC_TUNABLES", () => {
    expect(run({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' })[0]).toBe('GLIBC_TUNABLES=glibc.malloc.arena_max=4');
  });
});
