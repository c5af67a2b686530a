/** Types of bin/server-bundle.mjs (plain JavaScript, so the launcher runs without tsx). */
export function bundlePath(root: string): string;
export function sourceDigest(root: string): string;
export function bundleStamp(head: Buffer): string | null;
export function freshBundle(root: string): string | null;
export function buildBundle(root: string, options?: { logLevel?: 'silent' | 'error' | 'warning' | 'info' }): Promise<string>;
