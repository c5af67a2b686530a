/** Types of src/config/engine.mjs (plain JavaScript, so the launcher runs it without tsx). */
export function opensEmbeddedDatabase(env?: Record<string, string | undefined>, argv?: readonly string[]): boolean;
