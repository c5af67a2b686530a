import { describe, expect, it } from 'vitest';
import {
  addressTopic,
  amountWord,
  decodeTransferLog,
  TRANSFER_TOPIC,
  topicAddress,
  tronAddressFromHex,
  tronAddressHex,
  tronAddressKey,
} from '../../src/providers/chains/transfer-log.js';
import { createHash } from 'node:crypto';

/** The ERC-20 / TRC-20 Transfer event decoding and TRON address spelling the chain watchers rely on (issue 13). */
const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7';
const TO = '0x1111111111111111111111111111111111111111';
const FROM = '0x2222222222222222222222222222222222222222';
const TX = `0x${'ab'.repeat(32)}`;

function log(overrides: Record<string, unknown> = {}) {
  return {
    address: USDT,
    topics: [TRANSFER_TOPIC, addressTopic(FROM), addressTopic(TO)],
    data: amountWord(12_340_100n),
    blockNumber: '0x10',
    transactionHash: TX,
    logIndex: '0x3',
    removed: false,
    ...overrides,
  };
}

describe('Transfer log decoding', () => {
  it('topic0 is keccak-256("Transfer(address,address,uint256)")', () => {
    expect(TRANSFER_TOPIC).toBe('0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef');
  });

  it('decodes sender (topic1), recipient (topic2), amount (data), transaction, log index and block', () => {
    expect(decodeTransferLog(log())).toEqual({ contract: USDT, from: FROM, to: TO, value: 12_340_100n, txid: TX, logIndex: 3, blockNumber: 16n });
  });

  it('lower-cases what the node may answer in mixed case', () => {
    const decoded = decodeTransferLog(log({ address: USDT.toUpperCase().replace('0X', '0x'), transactionHash: TX.toUpperCase().replace('0X', '0x'), topics: [TRANSFER_TOPIC.toUpperCase().replace('0X', '0x'), addressTopic(FROM), addressTopic(TO)] }));
    expect(decoded?.contract).toBe(USDT);
    expect(decoded?.txid).toBe(TX);
  });

  it('refuses what is not a Transfer of 20-byte addresses with a 32-byte amount', () => {
    expect(decodeTransferLog(log({ topics: [`0x${'00'.repeat(32)}`, addressTopic(FROM), addressTopic(TO)] }))).toBeNull();
    // An ERC-721 Transfer has the token id as a fourth topic and no data.
    expect(decodeTransferLog(log({ topics: [TRANSFER_TOPIC, addressTopic(FROM), addressTopic(TO), amountWord(1n)], data: '0x' }))).toBeNull();
    expect(decodeTransferLog(log({ topics: [TRANSFER_TOPIC, addressTopic(FROM), `0x${'ff'.repeat(32)}`] }))).toBeNull();
    expect(decodeTransferLog(log({ data: '0x1234' }))).toBeNull();
    expect(decodeTransferLog(log({ removed: true }))).toBeNull();
    expect(decodeTransferLog(log({ blockNumber: null }))).toBeNull();
    expect(decodeTransferLog(log({ transactionHash: '0x12' }))).toBeNull();
    // An amount no bigint column holds (a hostile token can log anything).
    expect(decodeTransferLog(log({ data: amountWord(2n ** 64n) }))).toBeNull();
  });

  it('pads and unpads address topics', () => {
    expect(addressTopic(TO)).toBe(`0x${'0'.repeat(24)}${'1'.repeat(40)}`);
    expect(topicAddress(addressTopic(TO))).toBe(TO);
    expect(topicAddress(`0x01${'0'.repeat(22)}${'1'.repeat(40)}`)).toBeNull();
    expect(() => addressTopic('0x12')).toThrow();
  });
});

describe('TRON addresses', () => {
  // Mainnet USDT's contract and its 21 bytes as java-tron shows them (41 + 20 bytes).
  it('converts base58check and hex both ways', () => {
    expect(tronAddressHex('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t')).toBe('a614f803b6fd780986a42c78ec9c7f77e6ded13c');
    expect(tronAddressFromHex('41a614f803b6fd780986a42c78ec9c7f77e6ded13c')).toBe('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
    expect(tronAddressFromHex('0xa614f803b6fd780986a42c78ec9c7f77e6ded13c')).toBe('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
    expect(tronAddressFromHex('6e3b44b96104b26f84057974a1f0c9880f7c9b13')).toBe('TL24LCps5FKwp3PoU1MvrYrwhi5LU1tHre');
  });

  it('round-trips any 20 bytes', () => {
    for (let index = 0; index < 50; index += 1) {
      const hex = createHash('sha256').update(`addr-${index}`).digest('hex').slice(0, 40);
      const address = tronAddressFromHex(hex)!;
      expect(address).toMatch(/^T[1-9A-HJ-NP-Za-km-z]{33}$/);
      expect(tronAddressHex(address)).toBe(hex);
    }
  });

  it('refuses a wrong checksum and accepts every spelling as a comparison key', () => {
    expect(tronAddressHex('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u')).toBeNull();
    expect(tronAddressHex('not an address')).toBeNull();
    const key = 'a614f803b6fd780986a42c78ec9c7f77e6ded13c';
    expect(tronAddressKey('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t')).toBe(key);
    expect(tronAddressKey(`0x${key}`)).toBe(key);
    expect(tronAddressKey(`41${key}`)).toBe(key);
    expect(tronAddressKey('0x12')).toBeNull();
  });
});
