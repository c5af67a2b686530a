/**
 * Watch-only chain sources (issue 13, "USDT, self-hosted"): read-only clients of a TronGrid-compatible API and of an
 * EVM JSON-RPC endpoint. They never hold a key and never send a transaction; they list USDT transfers *to* a watched
 * address from a cursor and say how far each one is from finality. Crediting is the workflow's business
 * (workflows/chain-watch.ts).
 */
export type ChainName = 'tron' | 'evm';

/** One Transfer event of the configured USDT contract to a watched address, as the chain shows it now. */
export interface ObservedTransfer {
  /** The transaction id (TRON, 64 hex) or hash (EVM, 0x + 64 hex), lower case. */
  txid: string;
  /** TRON: the event index in the transaction; EVM: the log index in the block. */
  logIndex: number;
  /** The watched address as configured (TRON base58, EVM lower-case hex). */
  to: string;
  from: string | null;
  /** The raw token amount: micro-USDT (6 decimals). */
  amountMicro: bigint;
  blockNumber: bigint;
  blockTime: Date;
  /** Blocks on top of the transfer's block, counting its own (head − block + 1). */
  confirmations: number;
  /** Final: TRON confirmed (solidified) and deep enough; EVM at or below the finalized (or configured-depth) block. */
  final: boolean;
}

/** One scan of one address from a cursor. */
export interface ChainScan {
  /** Every transfer seen since the cursor, final or not, in chain order. */
  transfers: ObservedTransfer[];
  /** Confirmations a transfer needs on this chain right now (`confirming n/N` shows N). */
  required: number;
  /**
   * The cursor to store once the final transfers above are recorded: TRON a block timestamp in ms (inclusive, so a
   * re-scan sees that block's transfers again), EVM the last block whose logs are all final and covered.
   */
  cursor: bigint;
  /** False when the scan stopped at its page or block budget: there is more to read right away. */
  complete: boolean;
}

export interface ChainSource {
  readonly chain: ChainName;
  readonly addresses: readonly string[];
  /**
   * Transfers to `address` from `cursor`. A null cursor is a first start: TRON starts at `startHint` (the oldest
   * open order on the address) or the head block's time, EVM just after the current final block.
   */
  scan(address: string, cursor: bigint | null, startHint: Date | null): Promise<ChainScan>;
}

/** The chain API answered something unusable (an HTTP error, a JSON-RPC error, a shape it should not have). */
export class ChainSourceError extends Error {
  constructor(
    readonly chain: ChainName,
    message: string,
  ) {
    super(`${chain}: ${message}`);
    this.name = 'ChainSourceError';
  }
}
