import { upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { addressTopic, decodeTransferLog, TRANSFER_TOPIC, type RawLog } from './transfer-log.js';
import { ChainSourceError, type ChainScan, type ChainSource, type ObservedTransfer } from './types.js';

/**
 * USDT on one EVM chain through standard JSON-RPC 2.0 (the operator's EVM_RPC_URL): `eth_blockNumber` for the head,
 * `eth_getBlockByNumber("finalized")` for finality (or head − EVM_CONFIRMATIONS + 1 when a depth is configured),
 * `eth_getLogs` over a block range filtered on the USDT contract and `[Transfer, any sender, the watched address]`,
 * and `eth_getBlockByNumber(n)` for the timestamp of each block that has a transfer (the window is matched on block
 * time). The cursor is a block number: every log at or below it is final and recorded; a scan reads from the block
 * after it up to the head, in ranges of `rangeSize` blocks.
 */
export interface EvmSourceOptions {
  rpcUrl: string;
  /** The USDT ERC-20 contract, lower case. */
  contract: string;
  addresses: readonly string[];
  /** Null: wait for the `finalized` tag; a number: that many blocks, the transfer's own included. */
  confirmations: number | null;
  timeoutMs?: number;
  rangeSize?: number;
  maxRanges?: number;
}

interface Block {
  number: bigint;
  timestamp: number;
}

export class EvmRpcSource implements ChainSource {
  readonly chain = 'evm' as const;
  readonly addresses: readonly string[];
  private nextId = 1;

  constructor(private readonly options: EvmSourceOptions) {
    this.addresses = options.addresses;
  }

  private async rpc(method: string, params: unknown[]): Promise<unknown> {
    let response: UpstreamResponse;
    try {
      response = await upstreamRequest({
        method: 'POST',
        url: this.options.rpcUrl,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
        timeoutMs: this.options.timeoutMs ?? 15_000,
      });
    } catch (error) {
      throw new ChainSourceError('evm', `${method} failed: ${(error as Error).message}`);
    }
    const body = response.json as { result?: unknown; error?: { code?: number; message?: string } } | undefined;
    if (response.status !== 200 || !body || typeof body !== 'object') {
      throw new ChainSourceError('evm', `${method} answered ${response.status}: ${response.text.slice(0, 200)}`);
    }
    if (body.error) throw new ChainSourceError('evm', `${method}: ${body.error.code ?? ''} ${String(body.error.message ?? '').slice(0, 200)}`);
    return body.result;
  }

  async blockNumber(): Promise<bigint> {
    const result = await this.rpc('eth_blockNumber', []);
    if (typeof result !== 'string' || !/^0x[0-9a-fA-F]+$/.test(result)) throw new ChainSourceError('evm', 'eth_blockNumber is not a quantity');
    return BigInt(result);
  }

  async block(tag: bigint | 'finalized' | 'latest'): Promise<Block | null> {
    const result = (await this.rpc('eth_getBlockByNumber', [typeof tag === 'bigint' ? `0x${tag.toString(16)}` : tag, false])) as { number?: string; timestamp?: string } | null;
    if (result === null) return null;
    if (typeof result?.number !== 'string' || typeof result.timestamp !== 'string' || !/^0x[0-9a-fA-F]+$/.test(result.number) || !/^0x[0-9a-fA-F]+$/.test(result.timestamp)) {
      throw new ChainSourceError('evm', 'eth_getBlockByNumber answered a block without number or timestamp');
    }
    return { number: BigInt(result.number), timestamp: Number(BigInt(result.timestamp)) * 1000 };
  }

  async logs(address: string, from: bigint, to: bigint): Promise<RawLog[]> {
    const result = await this.rpc('eth_getLogs', [{
      fromBlock: `0x${from.toString(16)}`,
      toBlock: `0x${to.toString(16)}`,
      address: this.options.contract,
      topics: [TRANSFER_TOPIC, null, [addressTopic(address)]],
    }]);
    if (!Array.isArray(result)) throw new ChainSourceError('evm', 'eth_getLogs did not answer a list');
    return result as RawLog[];
  }

  /** The newest final block and how many confirmations that takes at this head. */
  private async finality(head: bigint): Promise<{ final: bigint; required: number }> {
    if (this.options.confirmations !== null) {
      return { final: head - BigInt(this.options.confirmations) + 1n, required: this.options.confirmations };
    }
    const finalized = await this.block('finalized');
    if (!finalized) throw new ChainSourceError('evm', 'the node has no finalized block');
    const final = finalized.number > head ? head : finalized.number;
    return { final, required: Number(head - final + 1n) };
  }

  async scan(address: string, cursor: bigint | null): Promise<ChainScan> {
    const head = await this.blockNumber();
    const { final, required } = await this.finality(head);
    const start = cursor ?? (final < 0n ? -1n : final);
    const rangeSize = BigInt(this.options.rangeSize ?? 1000);
    const maxRanges = this.options.maxRanges ?? 20;
    const transfers: ObservedTransfer[] = [];
    const times = new Map<bigint, number>();
    let covered = start;
    for (let range = 0; range < maxRanges && covered < head; range += 1) {
      const from = covered + 1n;
      const to = from + rangeSize - 1n < head ? from + rangeSize - 1n : head;
      for (const log of await this.logs(address, from, to)) {
        const decoded = decodeTransferLog(log);
        if (!decoded || decoded.contract !== this.options.contract || decoded.to !== address || decoded.value <= 0n) continue;
        if (decoded.blockNumber < from || decoded.blockNumber > to) continue;
        let time = times.get(decoded.blockNumber);
        if (time === undefined) {
          const block = await this.block(decoded.blockNumber);
          // A block the node no longer has was reorganised away since the logs were read: the next scan sees the truth.
          if (!block) continue;
          time = block.timestamp;
          times.set(decoded.blockNumber, time);
        }
        transfers.push({
          txid: decoded.txid,
          logIndex: decoded.logIndex,
          to: address,
          from: decoded.from,
          amountMicro: decoded.value,
          blockNumber: decoded.blockNumber,
          blockTime: new Date(time),
          confirmations: Number(head - decoded.blockNumber + 1n),
          final: decoded.blockNumber <= final,
        });
      }
      covered = to;
    }
    const next = covered < final ? covered : final;
    return { transfers, required, cursor: next > start ? next : start, complete: covered >= head };
  }
}
