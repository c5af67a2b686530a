/** Types of bin/early.mjs (plain JavaScript, so the launcher runs without tsx). */
export { opensEmbeddedDatabase } from '../src/config/engine.mjs';
export function startEarlyWork(root: string, options: { pglite: boolean }): Promise<string>;
