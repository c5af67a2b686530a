import { createHash } from 'node:crypto';
import { parseUsdt } from '../../../src/modules/payments/pricing.js';
import { tronAddressFromHex, tronAddressKey } from '../../../src/providers/chains/transfer-log.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest, type MockRoute } from '../shared/harness.js';

/**
 * A TronGrid-compatible chain (issue 13), the subset genrelay's watcher reads, on an in-memory chain that moves only
 * when told to:
 *
 * - `POST /wallet/getnowblock`, `POST /wallet/getblockbynum {num}`: blocks as java-tron shows them
 *   (`blockID`, `block_header.raw_data.{number, timestamp, parentHash, …}`);
 * - `GET /v1/accounts/{address}/transactions/trc20`: TRC-20 transfers from or to the address, with `only_confirmed`,
 *   `only_unconfirmed` (not both: 400), `only_to`, `only_from`, `contract_address`, `min_timestamp` /
 *   `max_timestamp` (inclusive), `order_by=block_timestamp,asc|desc` (default desc), `limit` (default 20, max 200)
 *   and `fingerprint` paging (`meta.fingerprint`, `meta.links.next`); rows are `{transaction_id, token_info,
 *   block_timestamp, from, to, type: "Transfer", value}`;
 * - `GET /v1/transactions/{txid}/events`: the transaction's Transfer events with `block_number`, `event_index`,
 *   `contract_address` and `result {from, to, value}` (addresses as 0x hex, as TronGrid gives them), `_unconfirmed`
 *   on events not yet confirmed; `only_confirmed` / `only_unconfirmed` filter.
 *
 * A transfer is confirmed (solidified) once its block is `confirmations` blocks deep, its own block counted
 * (default 19, like TRON_CONFIRMATIONS). With a `key` the API asks for it in `TRON-PRO-API-KEY`; without (the CLI
 * default), any request is served.
 *
 * Control (no key), to play the payer:
 * - `POST /_mock/transfer {"to", "amount": "12.3401"}` → `{txid, block_number, block_timestamp, event_indexes}`: a USDT
 *   transfer in a new head block. Optional: `from`, `contract` (another token), `transfers: [{to, amount, contract?}]`
 *   (several Transfer events in one transaction);
 * - `POST /_mock/confirm {"blocks": N}` → `{head, timestamp}`: N more blocks on top;
 * - `POST /_mock/reorg {"txid"}`: the transaction leaves the chain (409 once it is confirmed);
 * - `POST /_mock/clock {"time": ms | ISO}` or `{"advance_ms": N}`: the chain's clock (new blocks are stamped with it,
 *   3 s apart at least);
 * - `POST /_mock/config {"confirmations": N}`; `GET /_mock/state`.
 */
export const TRON_USDT_CONTRACT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const BLOCK_MS = 3000;
const TRANSFER_EVENT = 'Transfer(address indexed from, address indexed to, uint256 value)';

export interface TronMockSettings {
  confirmations?: number;
  startBlock?: number;
}

interface TronBlock {
  number: number;
  timestamp: number;
  id: string;
}

interface TronTransfer {
  txid: string;
  eventIndex: number;
  block: number;
  timestamp: number;
  contract: string;
  from: string;
  to: string;
  value: bigint;
}

function tronError(status: number, message: string): MockReply {
  return { status, body: { success: false, error: message, statusCode: status } };
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

function derivedAddress(seed: string): string {
  return tronAddressFromHex(createHash('sha256').update(seed).digest('hex').slice(0, 40))!;
}

export class TronChain {
  confirmations: number;
  offsetMs = 0;
  blocks: TronBlock[] = [];
  transfers: TronTransfer[] = [];
  private counter = 0;

  constructor(private readonly settings: TronMockSettings = {}) {
    this.confirmations = settings.confirmations ?? 19;
    this.reset();
  }

  reset(): void {
    this.confirmations = this.settings.confirmations ?? 19;
    this.offsetMs = 0;
    this.transfers = [];
    this.counter = 0;
    const number = this.settings.startBlock ?? 60_000_000;
    this.blocks = [{ number, timestamp: this.now() - (this.now() % BLOCK_MS), id: this.blockId(number) }];
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  head(): TronBlock {
    return this.blocks[this.blocks.length - 1]!;
  }

  private blockId(number: number): string {
    this.counter += 1;
    return number.toString(16).padStart(16, '0') + createHash('sha256').update(`tron-block:${number}:${this.counter}`).digest('hex').slice(16);
  }

  mine(): TronBlock {
    const head = this.head();
    const block = { number: head.number + 1, timestamp: Math.max(head.timestamp + BLOCK_MS, Math.ceil(this.now() / BLOCK_MS) * BLOCK_MS), id: this.blockId(head.number + 1) };
    this.blocks.push(block);
    return block;
  }

  depth(transfer: TronTransfer): number {
    return this.head().number - transfer.block + 1;
  }

  confirmed(transfer: TronTransfer): boolean {
    return this.depth(transfer) >= this.confirmations;
  }

  send(items: Array<{ to: string; value: bigint; contract: string; from: string }>): { txid: string; block: TronBlock; eventIndexes: number[] } {
    const block = this.mine();
    this.counter += 1;
    const txid = createHash('sha256').update(`tron-tx:${this.counter}:${block.number}:${JSON.stringify(items.map((item) => [item.to, item.value.toString()]))}`).digest('hex');
    items.forEach((item, index) => this.transfers.push({ txid, eventIndex: index, block: block.number, timestamp: block.timestamp, ...item }));
    return { txid, block, eventIndexes: items.map((_item, index) => index) };
  }

  blockView(block: TronBlock) {
    const parent = this.blocks.find((candidate) => candidate.number === block.number - 1);
    return {
      blockID: block.id,
      block_header: {
        raw_data: {
          number: block.number,
          txTrieRoot: '0'.repeat(64),
          witness_address: '41' + createHash('sha256').update(`witness:${block.number % 27}`).digest('hex').slice(0, 40),
          parentHash: parent?.id ?? '0'.repeat(64),
          version: 30,
          timestamp: block.timestamp,
        },
        witness_signature: createHash('sha256').update(`sig:${block.id}`).digest('hex').repeat(2),
      },
    };
  }
}

export function createTronFamily(settings: TronMockSettings = {}): Family {
  return (context: MockContext): MockRoute[] => {
    const chain = new TronChain(settings);
    context.onReset(() => chain.reset());
    (context as MockContext & { chain?: TronChain }).chain = chain;

    /** TronGrid's own key header; the harness's Bearer check does not apply to a chain API (routes are `control`). */
    const guard = (request: MockRequest, handle: () => MockReply): MockReply => {
      context.stats.requests.tron = (context.stats.requests.tron ?? 0) + 1;
      const key = context.options.key;
      if (typeof key === 'string' && request.headers['tron-pro-api-key'] !== key) return { status: 401, body: { Error: 'ApiKey not exists' } };
      return handle();
    };

    const trc20Row = (transfer: TronTransfer) => ({
      transaction_id: transfer.txid,
      token_info: transfer.contract === TRON_USDT_CONTRACT
        ? { symbol: 'USDT', address: transfer.contract, decimals: 6, name: 'Tether USD' }
        : { symbol: 'MOCK', address: transfer.contract, decimals: 6, name: 'Mock Token' },
      block_timestamp: transfer.timestamp,
      from: transfer.from,
      to: transfer.to,
      type: 'Transfer',
      value: transfer.value.toString(),
    });

    const eventView = (transfer: TronTransfer) => {
      const from = `0x${tronAddressKey(transfer.from)}`;
      const to = `0x${tronAddressKey(transfer.to)}`;
      return {
        block_number: transfer.block,
        block_timestamp: transfer.timestamp,
        caller_contract_address: transfer.contract,
        contract_address: transfer.contract,
        event_index: transfer.eventIndex,
        event_name: 'Transfer',
        result: { 0: from, 1: to, 2: transfer.value.toString(), from, to, value: transfer.value.toString() },
        result_type: { from: 'address', to: 'address', value: 'uint256' },
        event: TRANSFER_EVENT,
        transaction_id: transfer.txid,
        ...(chain.confirmed(transfer) ? {} : { _unconfirmed: true }),
      };
    };

    const confirmationFilter = (query: URLSearchParams): ((transfer: TronTransfer) => boolean) | MockReply => {
      const onlyConfirmed = query.get('only_confirmed') === 'true' || query.get('onlyConfirmed') === 'true';
      const onlyUnconfirmed = query.get('only_unconfirmed') === 'true' || query.get('onlyUnconfirmed') === 'true';
      if (onlyConfirmed && onlyUnconfirmed) return tronError(400, 'only_confirmed and only_unconfirmed can not be both true');
      return (transfer) => (onlyConfirmed ? chain.confirmed(transfer) : onlyUnconfirmed ? !chain.confirmed(transfer) : true);
    };

    const listTrc20 = (request: MockRequest, address: string): MockReply => {
      const key = tronAddressKey(address);
      if (!key) return tronError(400, `Invalid address provided: ${address}`);
      const query = request.query;
      const confirmation = confirmationFilter(query);
      if (typeof confirmation !== 'function') return confirmation;
      const onlyTo = query.get('only_to') === 'true';
      const onlyFrom = query.get('only_from') === 'true';
      const contract = query.get('contract_address');
      const contractKey = contract ? tronAddressKey(contract) : null;
      if (contract && !contractKey) return tronError(400, `Invalid contract address provided: ${contract}`);
      const min = Number(query.get('min_timestamp') ?? query.get('min_block_timestamp') ?? 0);
      const max = Number(query.get('max_timestamp') ?? query.get('max_block_timestamp') ?? Number.MAX_SAFE_INTEGER);
      const limit = Math.min(Math.max(Number(query.get('limit') ?? 20) || 20, 1), 200);
      const ascending = (query.get('order_by') ?? 'block_timestamp,desc') === 'block_timestamp,asc';
      const rows = chain.transfers
        .filter((transfer) => {
          const to = tronAddressKey(transfer.to) === key;
          const from = tronAddressKey(transfer.from) === key;
          if (onlyTo && !to) return false;
          if (onlyFrom && !from) return false;
          return (to || from) && (!contractKey || tronAddressKey(transfer.contract) === contractKey)
            && transfer.timestamp >= min && transfer.timestamp <= max && confirmation(transfer);
        })
        .sort((a, b) => (a.timestamp - b.timestamp || a.eventIndex - b.eventIndex) * (ascending ? 1 : -1));
      let offset = 0;
      const fingerprint = query.get('fingerprint');
      if (fingerprint) {
        const decoded = Number(Buffer.from(fingerprint, 'base64url').toString('utf8').replace(/^offset:/, ''));
        if (!Number.isSafeInteger(decoded) || decoded < 0) return tronError(400, 'Invalid fingerprint');
        offset = decoded;
      }
      const page = rows.slice(offset, offset + limit);
      const more = offset + limit < rows.length;
      const meta: Record<string, unknown> = { at: chain.now(), page_size: page.length };
      if (more) {
        const next = Buffer.from(`offset:${offset + limit}`).toString('base64url');
        const links = new URLSearchParams(query);
        links.set('fingerprint', next);
        meta.fingerprint = next;
        meta.links = { next: `${context.baseUrl}/v1/accounts/${address}/transactions/trc20?${links}` };
      }
      return { status: 200, body: { data: page.map(trc20Row), success: true, meta } };
    };

    const txEvents = (request: MockRequest, txid: string): MockReply => {
      const confirmation = confirmationFilter(request.query);
      if (typeof confirmation !== 'function') return confirmation;
      const events = chain.transfers.filter((transfer) => transfer.txid === txid.toLowerCase() && confirmation(transfer));
      return { status: 200, body: { data: events.map(eventView), success: true, meta: { at: chain.now(), page_size: events.length } } };
    };

    const transfer = (request: MockRequest): MockReply => {
      const body = bodyOf(request);
      const items = Array.isArray(body.transfers) ? body.transfers : [body];
      if (items.length === 0 || items.length > 50) return { status: 400, body: { error: 'transfers: 1 to 50 items' } };
      const parsed: Array<{ to: string; value: bigint; contract: string; from: string }> = [];
      for (const item of items) {
        const to = String(item?.to ?? '');
        if (!tronAddressKey(to) || !to.startsWith('T')) return { status: 400, body: { error: `to must be a TRON address (T…), got "${to}"` } };
        const value = typeof item.amount === 'string' ? parseUsdt(item.amount) : null;
        if (value === null || value <= 0n) return { status: 400, body: { error: 'amount must be a decimal USDT string with at most 6 decimals, like "12.3401"' } };
        const contract = String(item.contract ?? body.contract ?? TRON_USDT_CONTRACT);
        if (!tronAddressKey(contract)) return { status: 400, body: { error: `contract must be a TRON address, got "${contract}"` } };
        const from = String(item.from ?? body.from ?? derivedAddress(`payer:${to}`));
        if (!tronAddressKey(from)) return { status: 400, body: { error: `from must be a TRON address, got "${from}"` } };
        parsed.push({ to, value, contract, from });
      }
      const sent = chain.send(parsed);
      return { status: 200, body: { txid: sent.txid, block_number: sent.block.number, block_timestamp: sent.block.timestamp, event_indexes: sent.eventIndexes } };
    };

    const control = (method: string, path: RegExp, name: string, handle: MockRoute['handle']): MockRoute => ({ method, path, name, control: true, handle });
    const api = (method: string, path: RegExp, name: string, handle: (request: MockRequest, match: RegExpMatchArray) => MockReply): MockRoute =>
      control(method, path, name, (request, match) => guard(request, () => handle(request, match)));

    return [
      api('POST', /^\/wallet\/getnowblock$/, 'getnowblock', () => ({ status: 200, body: chain.blockView(chain.head()) })),
      api('POST', /^\/wallet\/getblockbynum$/, 'getblockbynum', (request) => {
        const block = chain.blocks.find((candidate) => candidate.number === Number(bodyOf(request).num));
        return { status: 200, body: block ? chain.blockView(block) : {} };
      }),
      api('GET', /^\/v1\/accounts\/([^/]+)\/transactions\/trc20$/, 'trc20', (request, match) => listTrc20(request, decodeURIComponent(match[1]!))),
      api('GET', /^\/v1\/transactions\/([0-9a-fA-F]{64})\/events$/, 'events', (request, match) => txEvents(request, match[1]!)),
      control('POST', /^\/_mock\/transfer$/, 'mock_transfer', transfer),
      control('POST', /^\/_mock\/confirm$/, 'mock_confirm', (request) => {
        const blocks = Number(bodyOf(request).blocks ?? 1);
        if (!Number.isSafeInteger(blocks) || blocks < 0 || blocks > 100_000) return { status: 400, body: { error: 'blocks must be an integer 0…100000' } };
        for (let index = 0; index < blocks; index += 1) chain.mine();
        return { status: 200, body: { head: chain.head().number, timestamp: chain.head().timestamp } };
      }),
      control('POST', /^\/_mock\/reorg$/, 'mock_reorg', (request) => {
        const txid = String(bodyOf(request).txid ?? '').toLowerCase();
        const found = chain.transfers.filter((candidate) => candidate.txid === txid);
        if (found.length === 0) return { status: 404, body: { error: 'no such transaction' } };
        if (found.some((candidate) => chain.confirmed(candidate))) return { status: 409, body: { error: 'the transaction is confirmed: it can no longer leave the chain' } };
        chain.transfers = chain.transfers.filter((candidate) => candidate.txid !== txid);
        return { status: 200, body: { dropped: found.length } };
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
        const confirmations = Number(bodyOf(request).confirmations);
        if (!Number.isSafeInteger(confirmations) || confirmations < 1) return { status: 400, body: { error: 'confirmations must be a positive integer' } };
        chain.confirmations = confirmations;
        return { status: 200, body: { confirmations } };
      }),
      control('GET', /^\/_mock\/state$/, 'mock_state', () => ({
        status: 200,
        body: {
          head: chain.head().number,
          head_timestamp: chain.head().timestamp,
          now: chain.now(),
          confirmations: chain.confirmations,
          transfers: chain.transfers.map((item) => ({ ...trc20Row(item), event_index: item.eventIndex, block_number: item.block, confirmed: chain.confirmed(item) })),
        },
      })),
    ];
  };
}

export const tronFamily: Family = createTronFamily();

/** The TRON mock on its own server. */
export function startTronMock(settings: TronMockSettings = {}, options: MockOptions = {}) {
  return startFamily(createTronFamily(settings), 'tron', { key: null, ...options });
}
