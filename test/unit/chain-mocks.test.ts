import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EvmRpcSource } from '../../src/providers/chains/evm.js';
import { tronAddressFromHex } from '../../src/providers/chains/transfer-log.js';
import { TronGridSource } from '../../src/providers/chains/tron.js';
import { ChainSourceError } from '../../src/providers/chains/types.js';
import { createEvmFamily, EVM_USDT_CONTRACT } from '../mock-upstreams/evm/server.js';
import { mount, startMockServer, type RunningMock } from '../mock-upstreams/shared/harness.js';
import { createTronFamily, TRON_USDT_CONTRACT } from '../mock-upstreams/tron/server.js';

/**
 * The chain mocks round-trip through genrelay's own watch-only clients over real HTTP on loopback (issue 13): what
 * the mock's control routes put on the chain is what TronGridSource / EvmRpcSource read back, with finality, log
 * indexes, paging, another token, a reorganisation and the API key.
 */
const TRON_KEY = 'tron-test-key';
const tronAddress = (seed: string) => tronAddressFromHex(createHash('sha256').update(seed).digest('hex').slice(0, 40))!;
const evmAddress = (seed: string) => `0x${createHash('sha256').update(seed).digest('hex').slice(0, 40)}`;
const OTHER_TRON_TOKEN = tronAddress('other-token');
const OTHER_EVM_TOKEN = evmAddress('other-token');

let mock: RunningMock;

async function control(path: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${mock.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function rpc(method: string, params: unknown[] = []): Promise<any> {
  const response = await fetch(`${mock.baseUrl}/evm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }) });
  return response.json();
}

beforeAll(async () => {
  mock = await startMockServer([
    mount('/tron', createTronFamily({ confirmations: 19 }), 'tron', { key: TRON_KEY }),
    mount('/evm', createEvmFamily({ finalityDepth: 5, maxRange: 50 }), 'evm', { key: null }),
  ]);
});

afterAll(async () => {
  await mock?.close();
});

beforeEach(async () => {
  await fetch(`${mock.baseUrl}/tron/__mock/reset`, { method: 'POST' });
  await fetch(`${mock.baseUrl}/evm/__mock/reset`, { method: 'POST' });
});

describe('TRON mock ↔ TronGridSource', () => {
  const tron = (overrides: Partial<ConstructorParameters<typeof TronGridSource>[0]> = {}) => new TronGridSource({
    baseUrl: `${mock.baseUrl}/tron`, apiKey: TRON_KEY, contract: TRON_USDT_CONTRACT, addresses: [], confirmations: 19, ...overrides,
  });

  it('reads the head, a transfer before and after solidification, and holds the cursor until it is final', async () => {
    const watched = tronAddress('watch-a');
    const source = tron();
    const head = await source.head();
    const paid = await control('/tron/_mock/transfer', { to: watched, amount: '12.3401' });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ txid: expect.stringMatching(/^[0-9a-f]{64}$/), block_number: Number(head.number) + 1, event_indexes: [0] });

    const before = await source.scan(watched, BigInt(head.timestamp), null);
    expect(before.transfers).toEqual([expect.objectContaining({ txid: paid.body.txid, logIndex: 0, to: watched, amountMicro: 12_340_100n, confirmations: 1, final: false })]);
    // Nothing final yet: the cursor stays where the scan began.
    expect(before.cursor).toBe(BigInt(head.timestamp));
    expect(before.required).toBe(19);

    await control('/tron/_mock/confirm', { blocks: 17 });
    expect((await source.scan(watched, before.cursor, null)).transfers[0]).toMatchObject({ confirmations: 18, final: false });
    await control('/tron/_mock/confirm', { blocks: 1 });
    const after = await source.scan(watched, before.cursor, null);
    expect(after.transfers).toEqual([expect.objectContaining({ confirmations: 19, final: true, blockTime: new Date(paid.body.block_timestamp) })]);
    expect(after.transfers[0]!.from).toMatch(/^T/);
    expect(after.cursor).toBe(BigInt(paid.body.block_timestamp));
  });

  it('sees several transfers of one transaction by event index, and ignores another token and another recipient', async () => {
    const watched = tronAddress('watch-b');
    const start = BigInt((await tron().head()).timestamp);
    const multi = await control('/tron/_mock/transfer', { transfers: [{ to: watched, amount: '5' }, { to: tronAddress('someone'), amount: '6' }, { to: watched, amount: '7.000001' }] });
    expect(multi.body.event_indexes).toEqual([0, 1, 2]);
    await control('/tron/_mock/transfer', { to: watched, amount: '9', contract: OTHER_TRON_TOKEN });
    await control('/tron/_mock/confirm', { blocks: 30 });
    const scan = await tron().scan(watched, start, null);
    expect(scan.transfers.map((transfer) => [transfer.txid, transfer.logIndex, transfer.amountMicro, transfer.final])).toEqual([
      [multi.body.txid, 0, 5_000_000n, true],
      [multi.body.txid, 2, 7_000_001n, true],
    ]);
  });

  it('pages by fingerprint and starts a first scan at the start hint', async () => {
    const watched = tronAddress('watch-c');
    const hint = new Date((await tron().head()).timestamp);
    for (let index = 1; index <= 5; index += 1) await control('/tron/_mock/transfer', { to: watched, amount: `${index}` });
    await control('/tron/_mock/confirm', { blocks: 19 });
    const scan = await tron({ pageSize: 2 }).scan(watched, null, hint);
    expect(scan.transfers.map((transfer) => transfer.amountMicro)).toEqual([1n, 2n, 3n, 4n, 5n].map((usdt) => usdt * 1_000_000n));
    expect(scan.complete).toBe(true);
    const capped = await tron({ pageSize: 2, maxPages: 1 }).scan(watched, null, hint);
    expect(capped.complete).toBe(false);
    expect(capped.transfers).toHaveLength(2);
    // The cursor stays at the last row read: the rest is read on the next scan.
    expect(capped.cursor).toBe(BigInt(capped.transfers[1]!.blockTime.getTime()));
  });

  it('drops a transaction before solidification (reorganisation), never after', async () => {
    const watched = tronAddress('watch-d');
    const start = BigInt((await tron().head()).timestamp);
    const paid = await control('/tron/_mock/transfer', { to: watched, amount: '3' });
    expect((await tron().scan(watched, start, null)).transfers).toHaveLength(1);
    expect((await control('/tron/_mock/reorg', { txid: paid.body.txid })).status).toBe(200);
    expect((await tron().scan(watched, start, null)).transfers).toEqual([]);
    const kept = await control('/tron/_mock/transfer', { to: watched, amount: '4' });
    await control('/tron/_mock/confirm', { blocks: 19 });
    expect((await control('/tron/_mock/reorg', { txid: kept.body.txid })).status).toBe(409);
  });

  it('asks for TRON-PRO-API-KEY and answers TronGrid-shaped listings', async () => {
    await expect(tron({ apiKey: 'wrong' }).head()).rejects.toBeInstanceOf(ChainSourceError);
    await expect(tron({ apiKey: null }).head()).rejects.toThrow(/401/);
    const watched = tronAddress('watch-e');
    await control('/tron/_mock/transfer', { to: watched, amount: '1.5' });
    const listing = await fetch(`${mock.baseUrl}/tron/v1/accounts/${watched}/transactions/trc20?only_unconfirmed=true&contract_address=${TRON_USDT_CONTRACT}`, { headers: { 'TRON-PRO-API-KEY': TRON_KEY } });
    const body = (await listing.json()) as any;
    expect(body).toMatchObject({ success: true, meta: { page_size: 1 }, data: [{ type: 'Transfer', to: watched, value: '1500000', token_info: { symbol: 'USDT', decimals: 6, address: TRON_USDT_CONTRACT } }] });
    const both = await fetch(`${mock.baseUrl}/tron/v1/accounts/${watched}/transactions/trc20?only_confirmed=true&only_unconfirmed=true`, { headers: { 'TRON-PRO-API-KEY': TRON_KEY } });
    expect(both.status).toBe(400);
    const events: any = await (await fetch(`${mock.baseUrl}/tron/v1/transactions/${body.data[0].transaction_id}/events`, { headers: { 'TRON-PRO-API-KEY': TRON_KEY } })).json();
    expect(events.data[0]).toMatchObject({ event_name: 'Transfer', event_index: 0, contract_address: TRON_USDT_CONTRACT, _unconfirmed: true, result: { value: '1500000' } });
    expect(events.data[0].result.to).toMatch(/^0x[0-9a-f]{40}$/);
    expect((await control('/tron/_mock/transfer', { to: 'nope', amount: '1' })).status).toBe(400);
    expect((await control('/tron/_mock/transfer', { to: watched, amount: '1.0000001' })).status).toBe(400);
  });
});

describe('EVM mock ↔ EvmRpcSource', () => {
  const evm = (overrides: Partial<ConstructorParameters<typeof EvmRpcSource>[0]> = {}) => new EvmRpcSource({
    rpcUrl: `${mock.baseUrl}/evm`, contract: EVM_USDT_CONTRACT, addresses: [], confirmations: null, ...overrides,
  });

  it('answers JSON-RPC 2.0: chain id, head, the finalized tag, unknown methods, batches', async () => {
    expect(await rpc('eth_chainId')).toEqual({ jsonrpc: '2.0', id: 7, result: '0x1' });
    const head = BigInt((await rpc('eth_blockNumber')).result);
    await control('/evm/_mock/confirm', { blocks: 10 });
    const finalized = (await rpc('eth_getBlockByNumber', ['finalized', false])).result;
    expect(BigInt(finalized.number)).toBe(head + 10n - 5n);
    expect((await rpc('eth_getBlockByNumber', ['0xffffffff', false])).result).toBeNull();
    expect((await rpc('eth_sendRawTransaction', ['0x00'])).error.code).toBe(-32601);
    const batch: any = await (await fetch(`${mock.baseUrl}/evm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, { jsonrpc: '2.0', id: 2, method: 'eth_blockNumber' }]) })).json();
    expect(batch.map((answer: any) => answer.id)).toEqual([1, 2]);
    expect((await rpc('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])).error.code).toBe(-32005);
  });

  it('reads a transfer, its confirmations towards the finalized tag and its finality', async () => {
    const watched = evmAddress('watch-a');
    const source = evm({ addresses: [watched] });
    const cursor = (await source.scan(watched, null)).cursor;
    const paid = await control('/evm/_mock/transfer', { to: watched, amount: '20.0001' });
    expect(paid.body).toMatchObject({ txid: expect.stringMatching(/^0x[0-9a-f]{64}$/), log_indexes: [0] });
    const before = await source.scan(watched, cursor);
    expect(before.transfers).toEqual([expect.objectContaining({ txid: paid.body.txid, logIndex: 0, amountMicro: 20_000_100n, confirmations: 1, final: false, blockTime: new Date(paid.body.block_timestamp * 1000) })]);
    expect(before.required).toBe(6);
    // The cursor follows the finalized block, never past a transfer that is not final.
    expect(before.cursor).toBe(BigInt(paid.body.block_number) - 5n);
    await control('/evm/_mock/confirm', { blocks: 5 });
    const after = await source.scan(watched, cursor);
    expect(after.transfers[0]).toMatchObject({ confirmations: 6, final: true });
    expect(after.cursor).toBe(BigInt(paid.body.block_number));
    // With a configured depth instead of the tag.
    expect((await evm({ confirmations: 7 }).scan(watched, cursor)).transfers[0]).toMatchObject({ final: false });
  });

  it('filters on contract and recipient, keeps log indexes, and reads in bounded ranges', async () => {
    const watched = evmAddress('watch-b');
    const source = evm({ rangeSize: 3, maxRanges: 2 });
    const cursor = (await source.scan(watched, null)).cursor;
    const multi = await control('/evm/_mock/transfer', { transfers: [{ to: watched, amount: '1' }, { to: evmAddress('someone'), amount: '2' }, { to: watched, amount: '3' }] });
    await control('/evm/_mock/transfer', { to: watched, amount: '4', contract: OTHER_EVM_TOKEN });
    await control('/evm/_mock/confirm', { blocks: 10 });
    const first = await source.scan(watched, cursor);
    expect(first.complete).toBe(false);
    expect(first.cursor).toBe(cursor + 6n);
    expect(first.transfers.map((transfer) => [transfer.txid, transfer.logIndex, transfer.amountMicro])).toEqual([
      [multi.body.txid, 0, 1_000_000n],
      [multi.body.txid, 2, 3_000_000n],
    ]);
    const all = await evm({ rangeSize: 100 }).scan(watched, cursor);
    expect(all.complete).toBe(true);
    expect(all.transfers).toHaveLength(2);
  });

  it('drops a transaction before finality (reorganisation), never after', async () => {
    const watched = evmAddress('watch-c');
    const source = evm();
    const cursor = (await source.scan(watched, null)).cursor;
    const paid = await control('/evm/_mock/transfer', { to: watched, amount: '3' });
    expect((await source.scan(watched, cursor)).transfers).toHaveLength(1);
    expect((await control('/evm/_mock/reorg', { txid: paid.body.txid })).status).toBe(200);
    expect((await source.scan(watched, cursor)).transfers).toEqual([]);
    const kept = await control('/evm/_mock/transfer', { to: watched, amount: '4' });
    await control('/evm/_mock/confirm', { blocks: 5 });
    expect((await control('/evm/_mock/reorg', { txid: kept.body.txid })).status).toBe(409);
  });
});
