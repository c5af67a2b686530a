/** Types of src/db/pglite-statements.mjs (plain JavaScript, so the database thread runs it without tsx or the bundle). */
import type { PGlite } from '@electric-sql/pglite';

export interface Results {
  rows: Record<string, unknown>[];
  affectedRows?: number;
}

export type Parsers = Record<number | string, (value: string, typeId?: number) => unknown>;

/** Texts whose parameter types are kept (the code's statements are fixed texts; beyond this they are read each time). */
export declare const TYPED_TEXT_LIMIT: number;

export declare class PgliteStatements {
  constructor(lite: PGlite, own: Parsers, limit?: number);
  /** Runs one statement; `inTransaction`: the caller holds PGlite's transaction (its query lock is taken here). */
  run(text: string, values: unknown[], inTransaction: boolean): Promise<Results>;
}
