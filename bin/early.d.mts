/** Types of bin/early.mjs (plain JavaScript, so the launcher runs without tsx). */
export function opensEmbeddedDatabase(): boolean;
export function startEarlyWork(root: string, options: { pglite: boolean }): Promise<string>;
