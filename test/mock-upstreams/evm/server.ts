import { createHash } from 'node:crypto';
import { parseUsdt } from '../../../src/modules/payments/pricing.js';
import { addressTopic, amountWord, TRANSFER_TOPIC } from '../../../src/providers/chains/transfer-log.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest, type MockRoute } from '../shared/harness.js';

/**
 * An EVM JSON-RPC 2.0 endpoint (issue 13) over an in-memory chain that moves only when told to: `POST /` (the
 * family root is the RPC URL) answers `eth_chainId`, `net_version`, `eth_blockNumber`, `eth_getBlockByNumber`
 * (a quantity or `latest` / `pending` / `safe` / `finalized` / `earliest`), `eth_getBlockByHash` and `eth_getLogs`
 * (`fromBlock` / `toBlock` / `blockHash`, `address` one or a list, `topics` with null and OR-lists, ranges of at most
 * `maxRange` blocks: -32005 beyond), single or batched. `finalized` is the head minus `finalityDepth` (default 64).
 * Every USDT transfer is an ERC-20 `Transfer` log of the contract (default: mainnet USDT); logs are indexed per block.
 *
 * Control, to play the payer:
 * - `POST /_mock/transfer {"to": "0x…", "amount": "12.3401"}` → `{txid, block_number, block_timestamp, log_indexes}`:
 *   one transaction in a new head block. Optional: `from`, `contract` (another token), `transfers: [{to, amount,
 *   contract?}]` (several logs in one transaction);
 * - `POST /_mock/confirm {"blocks": N}` → `{head, finalized, timestamp}`;
 * - `POST /_mock/reorg {"txid"}`: the transaction leaves the chain (409 once its block is finalized);
 * - `POST /_mock/clock {"time": ms | ISO}` or `{"advance_ms": N}`: the chain's clock (new blocks at least 12 s apart);
 * - `POST /_mock/config {"finality_depth": K}`; `GET /_mock/state`.
 */
export const EVM_USDT_CONTRACT = '0xdac17f958d2ee523a2206206994597c13d831ec7';
const BLOCK_SECONDS = 12;

export interface EvmMockSettings {
  finalityDepth?: number;
  chainId?: number;
  startBlock?: number;
  maxRange?: number;
}

interface EvmBlock {
  number: number;
  timestamp: number;
  hash: string;
  txs: string[];
}

interface EvmLog {
  txHash: string;
  txIndex: number;
  logIndex: number;
  block: number;
  contract: string;
  from: string;
  to: string;
  value: bigint;
}

function bodyOf(request: MockRequest): Record<string, any> {
  if (request.json && typeof request.json === 'object') return request.json;
  try {
    const parsed = request.text ? JSON.parse(request.text) : {};
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

const hex = (value: number | bigint) => `0x${value.toString(16)}`;
const isAddress = (value: unknown): value is string => typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value);

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class EvmChain {
  finalityDepth: number;
  offsetMs = 0;
  blocks: EvmBlock[] = [];
  logs: EvmLog[] = [];
  private counter = 0;

  constructor(readonly settings: EvmMockSettings = {}) {
    this.finalityDepth = settings.finalityDepth ?? 64;
    this.reset();
  }

  reset(): void {
    this.finalityDepth = this.settings.finalityDepth ?? 64;
    this.offsetMs = 0;
    this.logs = [];
    this.counter = 0;
    const number = this.settings.startBlock ?? 20_000_000;
    this.blocks = [{ number, timestamp: Math.floor(this.now() / 1000), hash: this.hash('block', number), txs: [] }];
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  private hash(kind: string, number: number): string {
    this.counter += 1;
    return `0x${createHash('sha256').update(`evm-${kind}:${number}:${this.counter}`).digest('hex')}`;
  }

  head(): EvmBlock {
    return this.blocks[this.blocks.length - 1]!;
  }

  /** A block by number: mined here, or (below the first one) an empty block of the history before the mock began. */
  blockAt(number: number): EvmBlock | null {
    const first = this.blocks[0]!;
    if (number < 0 || number > this.head().number) return null;
    if (number < first.number) {
      return { number, timestamp: first.timestamp - (first.number - number) * BLOCK_SECONDS, hash: `0x${createHash('sha256').update(`evm-history:${number}`).digest('hex')}`, txs: [] };
    }
    return this.blocks[number - first.number] ?? null;
  }

  finalized(): EvmBlock {
    return this.blockAt(Math.max(0, this.head().number - this.finalityDepth))!;
  }

  mine(): EvmBlock {
    const head = this.head();
    const block = { number: head.number + 1, timestamp: Math.max(head.timestamp + BLOCK_SECONDS, Math.ceil(this.now() / 1000)), hash: this.hash('block', head.number + 1), txs: [] };
    this.blocks.push(block);
    return block;
  }

  send(items: Array<{ to: string; value: bigint; contract: string; from: string }>): { txid: string; block: EvmBlock; logIndexes: number[] } {
    const block = this.mine();
    const txid = this.hash('tx', block.number);
    block.txs.push(txid);
    const logIndexes = items.map((item, index) => {
      this.logs.push({ txHash: txid, txIndex: block.txs.length - 1, logIndex: index, block: block.number, ...item });
      return index;
    });
    return { txid, block, logIndexes };
  }

  /** A reorganisation before finality: the transaction leaves; its block and every later one get new hashes. */
  drop(txid: string): 'dropped' | 'final' | 'unknown' {
    const logs = this.logs.filter((log) => log.txHash === txid);
    if (logs.length === 0) return 'unknown';
    if (logs[0]!.block <= this.finalized().number) return 'final';
    this.logs = this.logs.filter((log) => log.txHash !== txid);
    for (const block of this.blocks) {
      if (block.number < logs[0]!.block) continue;
      block.hash = this.hash('block', block.number);
      block.txs = block.txs.filter((candidate) => candidate !== txid);
    }
    return 'dropped';
  }

  blockByTag(tag: unknown): EvmBlock | null {
    if (tag === 'latest' || tag === 'pending' || tag === undefined) return this.head();
    if (tag === 'finalized') return this.finalized();
    if (tag === 'safe') return this.blockAt(Math.max(0, this.head().number - Math.ceil(this.finalityDepth / 2)));
    if (tag === 'earliest') return this.blockAt(0);
    if (typeof tag !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(tag)) throw new RpcError(-32602, `invalid block number or tag: ${String(tag)}`);
    return this.blockAt(Number(BigInt(tag)));
  }

  blockView(block: EvmBlock) {
    const parent = this.blockAt(block.number - 1);
    return {
      number: hex(block.number),
      hash: block.hash,
      parentHash: parent?.hash ?? `0x${'0'.repeat(64)}`,
      timestamp: hex(block.timestamp),
      transactions: block.txs,
      gasLimit: '0x1c9c380',
      gasUsed: hex(block.txs.length * 60_000),
      miner: `0x${'0'.repeat(40)}`,
      baseFeePerGas: '0x3b9aca00',
    };
  }

  logView(log: EvmLog) {
    const block = this.blocks.find((candidate) => candidate.number === log.block)!;
    return {
      address: log.contract,
      topics: [TRANSFER_TOPIC, addressTopic(log.from), addressTopic(log.to)],
      data: amountWord(log.value),
      blockNumber: hex(log.block),
      blockHash: block.hash,
      transactionHash: log.txHash,
      transactionIndex: hex(log.txIndex),
      logIndex: hex(this.logs.filter((other) => other.block === log.block).indexOf(log)),
      removed: false,
    };
  }
}

function topicMatches(filter: unknown, value: string): boolean {
  if (filter === null || filter === undefined) return true;
  if (Array.isArray(filter)) return filter.length === 0 || filter.some((candidate) => String(candidate).toLowerCase() === value);
  return String(filter).toLowerCase() === value;
}

export function createEvmFamily(settings: EvmMockSettings = {}): Family {
  return (context: MockContext): MockRoute[] => {
    const chain = new EvmChain(settings);
    context.onReset(() => chain.reset());
    (context as MockContext & { chain?: EvmChain }).chain = chain;
    const maxRange = settings.maxRange ?? 10_000;

    /** A block quantity as a number (it may lie past the head), or a tag resolved on the chain. */
    const numberOf = (tag: unknown): number => {
      if (typeof tag === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(tag)) return Number(BigInt(tag));
      return chain.blockByTag(tag ?? 'latest')!.number;
    };

    const getLogs = (filter: Record<string, any>) => {
      if (!filter || typeof filter !== 'object') throw new RpcError(-32602, 'eth_getLogs takes one filter object');
      let from: number;
      let to: number;
      if (filter.blockHash !== undefined) {
        const block = chain.blocks.find((candidate) => candidate.hash === String(filter.blockHash).toLowerCase());
        if (!block) throw new RpcError(-32000, 'unknown block');
        from = to = block.number;
      } else {
        from = numberOf(filter.fromBlock);
        to = Math.min(numberOf(filter.toBlock), chain.head().number);
        if (from > to) return [];
        if (to - from + 1 > maxRange) throw new RpcError(-32005, `query exceeds max block range ${maxRange}`);
      }
      const addresses = filter.address === undefined || filter.address === null ? null : (Array.isArray(filter.address) ? filter.address : [filter.address]).map((address: unknown) => String(address).toLowerCase());
      const topics: unknown[] = Array.isArray(filter.topics) ? filter.topics : [];
      return chain.logs
        .filter((log) => log.block >= from && log.block <= to && (!addresses || addresses.includes(log.contract)))
        .map((log) => chain.logView(log))
        .filter((view) => topics.every((topic, index) => topicMatches(topic, view.topics[index] ?? '')));
    };

    const call = (method: string, params: unknown[]): unknown => {
      switch (method) {
        case 'eth_chainId':
          return hex(settings.chainId ?? 1);
        case 'net_version':
          return String(settings.chainId ?? 1);
        case 'eth_blockNumber':
          return hex(chain.head().number);
        case 'eth_getBlockByNumber': {
          const block = chain.blockByTag(params[0]);
          return block ? chain.blockView(block) : null;
        }
        case 'eth_getBlockByHash': {
          const block = chain.blocks.find((candidate) => candidate.hash === String(params[0]).toLowerCase());
          return block ? chain.blockView(block) : null;
        }
        case 'eth_getLogs':
          return getLogs(params[0] as Record<string, any>);
        default:
          throw new RpcError(-32601, `the method ${method} does not exist/is not available`);
      }
    };

    const answer = (message: any) => {
      const id = message && typeof message === 'object' && 'id' in message ? message.id : null;
      if (!message || typeof message !== 'object' || message.jsonrpc !== '2.0' || typeof message.method !== 'string') {
        return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } };
      }
      try {
        return { jsonrpc: '2.0', id, result: call(message.method, Array.isArray(message.params) ? message.params : []) };
      } catch (error) {
        if (error instanceof RpcError) return { jsonrpc: '2.0', id, error: { code: error.code, message: error.message } };
        return { jsonrpc: '2.0', id, error: { code: -32603, message: String(error) } };
      }
    };

    const rpc = (request: MockRequest): MockReply => {
      context.stats.requests.rpc = (context.stats.requests.rpc ?? 0) + 1;
      let message: unknown;
      try {
        message = JSON.parse(request.text);
      } catch {
        return { status: 200, body: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } } };
      }
      if (Array.isArray(message)) return { status: 200, body: message.map(answer) };
      return { status: 200, body: answer(message) };
    };

    const transfer = (request: MockRequest): MockReply => {
      const body = bodyOf(request);
      const items = Array.isArray(body.transfers) ? body.transfers : [body];
      if (items.length === 0 || items.length > 50) return { status: 400, body: { error: 'transfers: 1 to 50 items' } };
      const parsed: Array<{ to: string; value: bigint; contract: string; from: string }> = [];
      for (const item of items) {
        if (!isAddress(item?.to)) return { status: 400, body: { error: `to must be a 0x address, got "${String(item?.to ?? '')}"` } };
        const value = typeof item.amount === 'string' ? parseUsdt(item.amount) : null;
        if (value === null || value <= 0n) return { status: 400, body: { error: 'amount must be a decimal USDT string with at most 6 decimals, like "12.3401"' } };
        const contract = item.contract ?? body.contract ?? EVM_USDT_CONTRACT;
        if (!isAddress(contract)) return { status: 400, body: { error: `contract must be a 0x address, got "${String(contract)}"` } };
        const from = item.from ?? body.from ?? `0x${createHash('sha256').update(`payer:${item.to}`).digest('hex').slice(0, 40)}`;
        if (!isAddress(from)) return { status: 400, body: { error: `from must be a 0x address, got "${String(from)}"` } };
        parsed.push({ to: item.to.toLowerCase(), value, contract: contract.toLowerCase(), from: from.toLowerCase() });
      }
      const sent = chain.send(parsed);
      const indexes = sent.logIndexes.map((index) => Number(BigInt(chain.logView(chain.logs.find((log) => log.txHash === sent.txid && log.logIndex === index)!).logIndex)));
      return { status: 200, body: { txid: sent.txid, block_number: sent.block.number, block_timestamp: sent.block.timestamp, log_indexes: indexes } };
    };

    const control = (method: string, path: RegExp, name: string, handle: MockRoute['handle']): MockRoute => ({ method, path, name, control: true, handle });
    return [
      // JSON-RPC has no bearer key (providers put theirs in the URL); the harness's check does not apply.
      control('POST', /^\/?$/, 'rpc', rpc),
      control('POST', /^\/_mock\/transfer$/, 'mock_transfer', transfer),
      control('POST', /^\/_mock\/confirm$/, 'mock_confirm', (request) => {
        const blocks = Number(bodyOf(request).blocks ?? 1);
        if (!Number.isSafeInteger(blocks) || blocks < 0 || blocks > 100_000) return { status: 400, body: { error: 'blocks must be an integer 0…100000' } };
        for (let index = 0; index < blocks; index += 1) chain.mine();
        return { status: 200, body: { head: chain.head().number, finalized: chain.finalized().number, timestamp: chain.head().timestamp } };
      }),
      control('POST', /^\/_mock\/reorg$/, 'mock_reorg', (request) => {
        const outcome = chain.drop(String(bodyOf(request).txid ?? '').toLowerCase());
        if (outcome === 'unknown') return { status: 404, body: { error: 'no such transaction' } };
        if (outcome === 'final') return { status: 409, body: { error: 'the transaction is finalized: it can no longer leave the chain' } };
        return { status: 200, body: { dropped: true } };
      }),
      control('POST', /^\/_mock\/clock$/, 'mock_clock', (request) => {
        const body = bodyOf(request);
        if (body.time !== undefined) {
          const time = typeof body.time === 'number' ? body.time : Date.parse(String(body.time));
          if (!Number.isFinite(time)) return { status: 400, body: { error: 'time must be epoch ms or an ISO date' } };
          chain.offsetMs = time - Date.now();
        }
        if (body.advance_ms !== undefined) chain.offsetMs += Number(body.advance_ms) || 0;
        return { status: 200, body: { now: chain.now(), head: chain.head().number, head_timestamp: chain.head().timestamp } };
      }),
      control('POST', /^\/_mock\/config$/, 'mock_config', (request) => {
        const depth = Number(bodyOf(request).finality_depth);
        if (!Number.isSafeInteger(depth) || depth < 0) return { status: 400, body: { error: 'finality_depth must be a non-negative integer' } };
        chain.finalityDepth = depth;
        return { status: 200, body: { finality_depth: depth } };
      }),
      control('GET', /^\/_mock\/state$/, 'mock_state', () => ({
        status: 200,
        body: {
          head: chain.head().number,
          head_timestamp: chain.head().timestamp,
          finalized: chain.finalized().number,
          finality_depth: chain.finalityDepth,
          now: chain.now(),
          transfers: chain.logs.map((log) => ({ txid: log.txHash, log_index: Number(BigInt(chain.logView(log).logIndex)), block_number: log.block, contract: log.contract, from: log.from, to: log.to, value: log.value.toString() })),
        },
      })),
    ];
  };
}

export const evmFamily: Family = createEvmFamily();

/** The EVM mock on its own server. */
export function startEvmMock(settings: EvmMockSettings = {}, options: MockOptions = {}) {
  return startFamily(createEvmFamily(settings), 'evm', { key: null, ...options });
}
