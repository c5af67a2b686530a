import { Buffer } from 'node:buffer';
import { parse, protocol } from '@electric-sql/pglite';

/**
 * Parameterised statements on the embedded engine in one call into PGlite's WebAssembly instead of six (issue 14).
 * PGlite's `query` sends Parse, Describe, Bind, Describe, Execute and Sync as six separate protocol calls, and its
 * result parser copies the instance's whole parser table on every call. Here the parameter types PostgreSQL infers
 * for a text are read once (Parse, Describe, Sync) and its Parse message kept; every later call sends Parse, Bind,
 * Describe, Execute and Sync in one message. The statement stays the unnamed one, parsed and planned for its values
 * on each call exactly as PGlite's `query` does it; values are serialised as `query` serialises them (by the
 * parameter's type, with the instance's serializers), and rows are parsed by PGlite's own result parser.
 *
 * Plain JavaScript (types in pglite-statements.d.mts): the in-thread engine (pool.ts) and the database thread
 * (pglite-thread.mjs, loaded from disk without the bundle or tsx) run this same code.
 */

/** Texts whose parameter types are kept (the code's statements are fixed texts; beyond this they are read each time). */
export const TYPED_TEXT_LIMIT = 2_000;
const { serialize } = protocol;
const SYNC = serialize.sync();
const DESCRIBE_STATEMENT = serialize.describe({ type: 'S' });
const DESCRIBE_PORTAL = serialize.describe({ type: 'P' });
const EXECUTE = serialize.execute({});

export class PgliteStatements {
  /** Per text: its Parse message and the parameter types PostgreSQL inferred for it. */
  known = new Map();

  constructor(lite, own, limit = TYPED_TEXT_LIMIT) {
    this.lite = lite;
    this.limit = limit;
    /** The instance's parsers (looked up live, through the prototype) under the engine's own. */
    this.parsers = Object.assign(Object.create(lite.parsers), own);
  }

  /** Runs one statement; `inTransaction`: the caller holds PGlite's transaction (its query lock is taken here). */
  async run(text, values, inTransaction) {
    let known = this.known.get(text);
    if (!known) {
      const parsed = serialize.parse({ text, types: [] });
      known = { parse: parsed, types: parse.parseDescribeStatementResults(await this.send([parsed, DESCRIBE_STATEMENT, SYNC], inTransaction)) };
      if (this.known.size < this.limit) this.known.set(text, known);
    }
    const { types } = known;
    const bind = serialize.bind({ values: values.map((value, index) => this.serialise(value, types[index])) });
    const messages = await this.send([known.parse, bind, DESCRIBE_PORTAL, EXECUTE, SYNC], inTransaction);
    const [result] = parse.parseResults(messages, this.parsers);
    return { rows: result?.rows ?? [], affectedRows: result?.affectedRows };
  }

  /** As PGlite's `query`: null stays null; otherwise the parameter type's serializer, else the value's own text. */
  serialise(value, type) {
    if (value === null || value === undefined) return null;
    const serializer = type === undefined ? undefined : this.lite.serializers[type];
    return serializer ? serializer(value) : String(value);
  }

  async send(parts, inTransaction) {
    const message = Buffer.concat(parts);
    const call = () => this.lite.execProtocolStream(message, { syncToFs: !inTransaction });
    return inTransaction ? this.lite._runExclusiveQuery(call) : this.lite._runExclusiveTransaction(() => this.lite._runExclusiveQuery(call));
  }
}
