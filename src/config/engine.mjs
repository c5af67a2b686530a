/**
 * Which database engine a command will open, read from the environment before the configuration is parsed: the
 * launcher (bin/genrelay.mjs, bin/early.mjs) asks it first thing, to compile PGlite's WebAssembly on a worker thread
 * while the server loads (ARCHITECTURE "Start-up"). Plain JavaScript, so the launcher runs it without tsx; it is not
 * part of the server bundle (src/config/index.ts does not import it), though the bundle's stamp digests it with the
 * other sources.
 * A guess, nothing more: when the configuration then turns out to be invalid, the compiled module is simply not used.
 */

/** The commands that open the database (src/main.ts); `undefined` is the default command, `serve`. */
const OPENS_DATABASE = new Set([undefined, 'serve', 'migrate', 'admin']);

/**
 * Whether DATABASE_URL is set, by src/config/index.ts's rule for every variable: unset, empty and blank are all
 * unset (test/unit/config-engine.test.ts holds the two to it).
 */
function databaseUrlSet(env) {
  return (env.DATABASE_URL ?? '').trim() !== '';
}

/** Whether the command in `argv` (`node <script> <command> …`) opens the embedded engine: PGlite, no DATABASE_URL. */
export function opensEmbeddedDatabase(env = process.env, argv = process.argv) {
  return OPENS_DATABASE.has(argv[2]) && !databaseUrlSet(env);
}
