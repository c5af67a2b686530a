import type { Db, Queryable } from '../../db/pool.js';
import type { TopupOrderRow, UsdtMethod } from './types.js';

/**
 * The chain watchers' rows (issue 13): `chain_cursors` (where each watched address was scanned up to) and
 * `chain_transfers` (every final USDT transfer to a watched address, once per (chain, transaction, log index), with
 * what became of it), plus the order look-ups that tell an operator why a transfer was not credited.
 */
export interface TransferRecord {
  chain: 'tron' | 'evm';
  txid: string;
  logIndex: number;
  to: string;
  from: string | null;
  amountMicro: bigint;
  blockNumber: bigint;
  blockTime: Date;
  now: Date;
}

export class ChainStore {
  constructor(private readonly db: Db) {}

  async cursor(chain: string, address: string): Promise<bigint | null> {
    const result = await this.db.query<{ position: string }>('SELECT position FROM chain_cursors WHERE chain = $1 AND address = $2', [chain, address]);
    return result.rows[0] ? BigInt(result.rows[0].position) : null;
  }

  /** Moves the cursor forward only (two watchers racing never move it back). */
  async saveCursor(chain: string, address: string, position: bigint, now: Date, db: Queryable = this.db): Promise<void> {
    await db.query(
      `INSERT INTO chain_cursors (chain, address, position, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (chain, address) DO UPDATE SET position = GREATEST(chain_cursors.position, EXCLUDED.position), updated_at = EXCLUDED.updated_at`,
      [chain, address, position, now],
    );
  }

  /**
   * Claims a transfer inside the caller's transaction: true when this is its first sighting (the row now exists,
   * provisionally `unmatched`, and a concurrent watcher waits on it), false when it was recorded before.
   */
  async claim(tx: Queryable, record: TransferRecord): Promise<boolean> {
    const result = await tx.query(
      `INSERT INTO chain_transfers (chain, txid, log_index, to_address, from_address, amount_micro, block_number, block_time, disposition, seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'unmatched', $9)
       ON CONFLICT (chain, txid, log_index) DO NOTHING RETURNING txid`,
      [record.chain, record.txid, record.logIndex, record.to, record.from, record.amountMicro, record.blockNumber, record.blockTime, record.now],
    );
    return result.rows.length === 1;
  }

  async settle(tx: Queryable, record: Pick<TransferRecord, 'chain' | 'txid' | 'logIndex'>, disposition: 'credited' | 'unmatched', orderId: string | null): Promise<void> {
    await tx.query(
      'UPDATE chain_transfers SET disposition = $4, order_id = $5 WHERE chain = $1 AND txid = $2 AND log_index = $3',
      [record.chain, record.txid, record.logIndex, disposition, orderId],
    );
  }

  /** The newest order of this exact amount on the address created before the transfer (late or already paid?). */
  async sameAmount(method: UsdtMethod, address: string, micro: bigint, at: Date, db: Queryable = this.db): Promise<TopupOrderRow | null> {
    const result = await db.query<TopupOrderRow>(
      `SELECT * FROM topup_orders WHERE method = $1 AND pay_address = $2 AND pay_amount_micro = $3 AND created_at <= $4
        ORDER BY created_at DESC LIMIT 1`,
      [method, address, micro, at],
    );
    return result.rows[0] ?? null;
  }

  /** Unpaid orders on the address whose window holds the transfer's time (a wrong amount names one of them). */
  async openAt(method: UsdtMethod, address: string, at: Date, db: Queryable = this.db): Promise<TopupOrderRow[]> {
    const result = await db.query<TopupOrderRow>(
      `SELECT * FROM topup_orders WHERE method = $1 AND pay_address = $2 AND created_at <= $3 AND expires_at >= $3
          AND status IN ('pending', 'confirming', 'expired') ORDER BY created_at DESC LIMIT 6`,
      [method, address, at],
    );
    return result.rows;
  }

  /** Orders shown as `confirming` on this address (a scan that no longer sees their transfer takes them back). */
  async confirming(method: UsdtMethod, address: string): Promise<TopupOrderRow[]> {
    const result = await this.db.query<TopupOrderRow>(
      "SELECT * FROM topup_orders WHERE method = $1 AND pay_address = $2 AND status = 'confirming' ORDER BY created_at LIMIT 1000",
      [method, address],
    );
    return result.rows;
  }

  /** The oldest open order on the address (a first scan of TRON starts no later than its creation). */
  async oldestOpen(method: UsdtMethod, address: string): Promise<Date | null> {
    const result = await this.db.query<{ created_at: Date | null }>(
      "SELECT MIN(created_at) AS created_at FROM topup_orders WHERE method = $1 AND pay_address = $2 AND status IN ('pending', 'confirming')",
      [method, address],
    );
    return result.rows[0]?.created_at ?? null;
  }
}
