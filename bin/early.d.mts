/** Types of bin/early.mjs (plain JavaScript, so the launcher runs without tsx). */
export function startEarlyWork(root: string, options: { pglite: boolean }): Promise<string>;
