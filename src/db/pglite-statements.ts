import { Buffer } from 'node:buffer';
import { parse, protocol, type PGlite } from '@electric-sql/pglite';

/**
 * Parameterised statements on the embedded engine in one call into PGlite's WebAssembly instead of six (issue 14).
 * PGlite's `query` sends Parse, Describe, Bind, Describe, Execute and Sync as six separate protocol calls, and its
 * result parser copies the instance's whole parser table on every call. Here the parameter types PostgreSQL infers
 * for a text are read once (Parse, Describe, Sync) and its Parse message kept; every later call sends Parse, Bind,
 * Describe, Execute and Sync in one message. The statement stays the unnamed one, parsed and planned for its values
 * on each call exactly as PGlite's `query` does it; values are serialised as `query` serialises them (by the
 * parameter's type, with the instance's serializers), and rows are parsed by PGlite's own result parser.
 */
export interface Results {
  rows: Record<string, unknown>[];
  affectedRows?: number;
}

type Parsers = Record<number | string, (value: string, typeId?: number) => unknown>;

/** Texts whose parameter types are kept (the code's statements are fixed texts; beyond this they are read each time). */
export const TYPED_TEXT_LIMIT = 2_000;
const { serialize } = protocol;
const SYNC = serialize.sync();
const DESCRIBE_STATEMENT = serialize.describe({ type: 'S' });
const DESCRIBE_PORTAL = serialize.describe({ type: 'P' });
const EXECUTE = serialize.execute({});

/** What is kept of a text: its Parse message and the parameter types PostgreSQL inferred for it. */
interface Known {
  parse: Uint8Array;
  types: number[];
}

export class PgliteStatements {
  private readonly known = new Map<string, Known>();
  /** The instance's parsers (looked up live, through the prototype) under the engine's own. */
  private readonly parsers: Parsers;

  constructor(
    private readonly lite: PGlite,
    own: Parsers,
    private readonly limit = TYPED_TEXT_LIMIT,
  ) {
    this.parsers = Object.assign(Object.create(lite.parsers) as Parsers, own);
  }

  /** Runs one statement; `inTransaction`: the caller holds PGlite's transaction (its query lock is taken here). */
  async run(text: string, values: unknown[], inTransaction: boolean): Promise<Results> {
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
    return { rows: (result?.rows ?? []) as Record<string, unknown>[], affectedRows: result?.affectedRows };
  }

  /** As PGlite's `query`: null stays null; otherwise the parameter type's serializer, else the value's own text. */
  private serialise(value: unknown, type: number | undefined): string | null {
    if (value === null || value === undefined) return null;
    const serializer = type === undefined ? undefined : this.lite.serializers[type];
    return serializer ? serializer(value) : String(value);
  }

  private async send(parts: Uint8Array[], inTransaction: boolean) {
    const message = Buffer.concat(parts);
    const call = () => this.lite.execProtocolStream(message, { syncToFs: !inTransaction });
    return inTransaction ? this.lite._runExclusiveQuery(call) : this.lite._runExclusiveTransaction(() => this.lite._runExclusiveQuery(call));
  }
}
