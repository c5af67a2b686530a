/** Types of bin/run-bundle.mjs (plain JavaScript, so the launcher runs without tsx). */
export type CacheOutcome = 'used' | 'rejected' | 'absent';
export function codeCachePath(bundle: string): string;
export function loadBundle(bundle: string): { bytes: Buffer; cache: CacheOutcome; run(): Promise<boolean> };
export function runBundle(bundle: string): { cache: CacheOutcome; written: Promise<boolean> };
