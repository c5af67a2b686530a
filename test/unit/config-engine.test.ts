import { describe, expect, it } from 'vitest';
import { opensEmbeddedDatabase } from '../../src/config/engine.mjs';
import { parseConfig } from '../../src/config/index.js';

/**
 * src/config/engine.mjs tells the launcher, before the configuration is parsed, whether the command will open the
 * embedded engine (it then compiles PGlite's WebAssembly early). It must read DATABASE_URL as src/config/index.ts does.
 */
const argv = (command?: string) => ['node', 'bin/genrelay.mjs', ...(command === undefined ? [] : [command])];

describe('the embedded engine, as the launcher sees it', () => {
  it.each([undefined, '', '   ', 'postgres://genrelay@127.0.0.1/genrelay', ' postgresql://127.0.0.1/x '])(
    'agrees with the configuration on DATABASE_URL %o',
    (databaseUrl) => {
      const env = databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl };
      expect(opensEmbeddedDatabase(env, argv('serve'))).toBe(parseConfig(env).databaseUrl === null);
    },
  );

  it('counts only the commands that open the database', () => {
    for (const command of [undefined, 'serve', 'migrate', 'admin']) {
      expect(opensEmbeddedDatabase({}, argv(command))).toBe(true);
    }
    for (const command of ['mock-upstreams', 'help', '--version']) {
      expect(opensEmbeddedDatabase({}, argv(command))).toBe(false);
    }
    expect(opensEmbeddedDatabase({ DATABASE_URL: 'postgres://127.0.0.1/x' }, argv('serve'))).toBe(false);
  });
});
