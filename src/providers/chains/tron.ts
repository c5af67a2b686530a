import { upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { tronAddressFromHex, tronAddressKey } from './transfer-log.js';
import { ChainSourceError, type ChainScan, type ChainSource, type ObservedTransfer } from './types.js';

/**
 * USDT on TRON through a TronGrid-compatible HTTP API (the operator's TRONGRID_URL: TronGrid itself, or any node
 * offering its v1 extension API). Three calls, all read-only:
 *
 * - `POST /wallet/getnowblock`: the head block's number and timestamp;
 * - `GET /v1/accounts/{address}/transactions/trc20?only_to=true&contract_address=…&min_timestamp=…&order_by=block_timestamp,asc`,
 *   once with `only_confirmed=true` and once with `only_unconfirmed=true`, paged by `fingerprint`: which transactions
 *   moved USDT to the address since the cursor, and which of them are confirmed (solidified);
 * - `GET /v1/transactions/{txid}/events`: each Transfer event's `event_index` and `block_number` (the listing has
 *   neither), so one transaction paying several times is several transfers.
 *
 * A transfer is final when TronGrid lists it as confirmed *and* it is TRON_CONFIRMATIONS blocks deep. The cursor is a
 * block timestamp: after a scan it moves to the oldest transfer not yet final, or else to the newest final one
 * (inclusive: that block's transfers are seen again and the database's uniqueness skips them).
 */
export interface TronSourceOptions {
  baseUrl: string;
  apiKey: string | null;
  /** The USDT TRC-20 contract (base58). */
  contract: string;
  addresses: readonly string[];
  confirmations: number;
  timeoutMs?: number;
  /** Rows per listing page (TronGrid's maximum is 200) and pages per listing per scan. */
  pageSize?: number;
  maxPages?: number;
}

interface Trc20Row {
  transaction_id: string;
  block_timestamp: number;
  to: string;
  token_info?: { address?: string };
}

interface TronEvent {
  block_number: number;
  block_timestamp: number;
  contract_address: string;
  event_index: number;
  event_name: string;
  result: Record<string, string>;
  transaction_id: string;
  _unconfirmed?: boolean;
}

const MAX_BIGINT_64 = 9_223_372_036_854_775_807n;

export class TronGridSource implements ChainSource {
  readonly chain = 'tron' as const;
  readonly addresses: readonly string[];
  private readonly baseUrl: string;
  private readonly contractKey: string;

  constructor(private readonly options: TronSourceOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.addresses = options.addresses;
    const key = tronAddressKey(options.contract);
    if (!key) throw new ChainSourceError('tron', `USDT_TRON_CONTRACT ${options.contract} is not a checksummed TRON address`);
    this.contractKey = key;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
    let response: UpstreamResponse;
    try {
      response = await upstreamRequest({
        method,
        url: `${this.baseUrl}${path}`,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.options.apiKey ? { 'TRON-PRO-API-KEY': this.options.apiKey } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        timeoutMs: this.options.timeoutMs ?? 15_000,
      });
    } catch (error) {
      throw new ChainSourceError('tron', `${method} ${path.split('?')[0]} failed: ${(error as Error).message}`);
    }
    const json = response.json as any;
    if (response.status !== 200 || json === null || typeof json !== 'object' || json.success === false) {
      throw new ChainSourceError('tron', `${method} ${path.split('?')[0]} answered ${response.status}: ${response.text.slice(0, 200)}`);
    }
    return json;
  }

  /** The head block: number and timestamp (ms). */
  async head(): Promise<{ number: bigint; timestamp: number }> {
    const block = await this.call('POST', '/wallet/getnowblock', {});
    const raw = block?.block_header?.raw_data;
    if (!Number.isSafeInteger(raw?.number) || !Number.isSafeInteger(raw?.timestamp)) throw new ChainSourceError('tron', 'getnowblock has no block number');
    return { number: BigInt(raw.number), timestamp: raw.timestamp };
  }

  /** Every page of one TRC-20 listing since `minTimestamp`; `complete` false when the page budget ran out. */
  private async listing(address: string, flag: 'only_confirmed' | 'only_unconfirmed', minTimestamp: bigint): Promise<{ rows: Trc20Row[]; complete: boolean }> {
    const rows: Trc20Row[] = [];
    let fingerprint: string | null = null;
    for (let page = 0; page < (this.options.maxPages ?? 25); page += 1) {
      const query = new URLSearchParams({
        [flag]: 'true',
        only_to: 'true',
        contract_address: this.options.contract,
        min_timestamp: minTimestamp.toString(),
        order_by: 'block_timestamp,asc',
        limit: String(this.options.pageSize ?? 200),
      });
      if (fingerprint) query.set('fingerprint', fingerprint);
      const body = await this.call('GET', `/v1/accounts/${encodeURIComponent(address)}/transactions/trc20?${query}`);
      if (!Array.isArray(body.data)) throw new ChainSourceError('tron', 'the TRC-20 listing has no data array');
      for (const row of body.data as Trc20Row[]) {
        if (typeof row?.transaction_id !== 'string' || !/^[0-9a-fA-F]{64}$/.test(row.transaction_id) || !Number.isSafeInteger(row.block_timestamp)) {
          throw new ChainSourceError('tron', 'a TRC-20 listing row has no transaction id or block timestamp');
        }
        rows.push(row);
      }
      fingerprint = typeof body.meta?.fingerprint === 'string' && body.meta.fingerprint !== '' ? body.meta.fingerprint : null;
      if (!fingerprint || body.data.length === 0) return { rows, complete: true };
    }
    return { rows, complete: false };
  }

  /** The USDT Transfer events of one transaction to the watched address. */
  private async transferEvents(txid: string, confirmed: boolean, toKey: string): Promise<TronEvent[]> {
    const query = confirmed ? '?only_confirmed=true' : '';
    const body = await this.call('GET', `/v1/transactions/${txid}/events${query}`);
    if (!Array.isArray(body.data)) throw new ChainSourceError('tron', 'the events listing has no data array');
    return (body.data as TronEvent[]).filter((event) =>
      event?.event_name === 'Transfer' && typeof event.contract_address === 'string' && tronAddressKey(event.contract_address) === this.contractKey
      && typeof event.result === 'object' && event.result !== null && tronAddressKey(String(event.result.to ?? event.result['1'] ?? '')) === toKey
      && Number.isSafeInteger(event.event_index) && Number.isSafeInteger(event.block_number) && Number.isSafeInteger(event.block_timestamp));
  }

  async scan(address: string, cursor: bigint | null, startHint: Date | null): Promise<ChainScan> {
    const toKey = tronAddressKey(address);
    if (!toKey) throw new ChainSourceError('tron', `watched address ${address} is not a checksummed TRON address`);
    const head = await this.head();
    const start = cursor ?? BigInt(Math.min(head.timestamp, startHint?.getTime() ?? head.timestamp));
    const required = this.options.confirmations;
    const confirmed = await this.listing(address, 'only_confirmed', start);
    const unconfirmed = await this.listing(address, 'only_unconfirmed', start);
    const transfers: ObservedTransfer[] = [];
    // Block timestamps the cursor must not pass: a transfer not final yet, or one whose events are not indexed yet.
    const holds: bigint[] = [];
    const seen = new Set<string>();
    for (const [rows, isConfirmed] of [[confirmed.rows, true], [unconfirmed.rows, false]] as const) {
      for (const row of rows) {
        const txid = row.transaction_id.toLowerCase();
        if (seen.has(txid)) continue;
        seen.add(txid);
        const events = await this.transferEvents(txid, isConfirmed, toKey);
        if (events.length === 0) holds.push(BigInt(row.block_timestamp));
        for (const event of events) {
          const value = BigInt(String(event.result.value ?? event.result['2'] ?? '0').match(/^\d{1,30}$/)?.[0] ?? '0');
          if (value <= 0n || value > MAX_BIGINT_64) continue;
          const depth = Number(head.number - BigInt(event.block_number) + 1n);
          const final = isConfirmed && event._unconfirmed !== true && depth >= required;
          if (!final) holds.push(BigInt(event.block_timestamp));
          transfers.push({
            txid,
            logIndex: event.event_index,
            to: address,
            from: tronAddressFromHex(tronAddressKey(String(event.result.from ?? event.result['0'] ?? '')) ?? '') ?? null,
            amountMicro: value,
            blockNumber: BigInt(event.block_number),
            blockTime: new Date(event.block_timestamp),
            confirmations: Math.max(depth, 0),
            final,
          });
        }
      }
    }
    transfers.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
    let next = start;
    for (const transfer of transfers) if (transfer.final && BigInt(transfer.blockTime.getTime()) > next) next = BigInt(transfer.blockTime.getTime());
    for (const listing of [confirmed, unconfirmed]) {
      // A listing cut short: what lies past its last row was not read.
      if (!listing.complete && listing.rows.length > 0) holds.push(BigInt(listing.rows[listing.rows.length - 1]!.block_timestamp));
    }
    for (const hold of holds) if (hold < next) next = hold;
    if (next < start) next = start;
    return { transfers, required, cursor: next, complete: confirmed.complete && unconfirmed.complete };
  }
}
