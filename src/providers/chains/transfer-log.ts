import { createHash } from 'node:crypto';

/**
 * The ERC-20 / TRC-20 `Transfer(address indexed from, address indexed to, uint256 value)` event as both chains log it:
 * topic0 is the keccak-256 of the signature, topic1 and topic2 the sender and recipient left-padded to 32 bytes, the
 * data the 32-byte amount. TRON addresses are the same 20 bytes behind a 0x41 prefix, written in base58check.
 */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
const MAX_BIGINT_64 = 9_223_372_036_854_775_807n;

export interface RawLog {
  address: string;
  topics: readonly string[];
  data: string;
  blockNumber?: string | null;
  transactionHash?: string | null;
  logIndex?: string | null;
  removed?: boolean;
}

export interface DecodedTransfer {
  contract: string;
  from: string;
  to: string;
  value: bigint;
  txid: string;
  logIndex: number;
  blockNumber: bigint;
}

/** An EVM address as a 32-byte topic (lower case). */
export function addressTopic(address: string): string {
  const hex = address.toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new Error(`not a 20-byte address: ${address}`);
  return `0x${hex.padStart(64, '0')}`;
}

/** The 20-byte address in a 32-byte topic, or null when the upper 12 bytes are not zero. */
export function topicAddress(topic: string): string | null {
  const hex = topic.toLowerCase().replace(/^0x/, '');
  if (!/^0{24}[0-9a-f]{40}$/.test(hex)) return null;
  return `0x${hex.slice(24)}`;
}

function quantity(value: string | null | undefined): bigint | null {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) return null;
  return BigInt(value);
}

/**
 * A Transfer log decoded, or null when it is not one (other event, malformed topics or data, a removed log, an amount
 * beyond what a bigint column holds). Addresses come back as lower-case 0x hex.
 */
export function decodeTransferLog(log: RawLog): DecodedTransfer | null {
  if (log.removed === true || !Array.isArray(log.topics) || log.topics.length !== 3) return null;
  if (String(log.topics[0]).toLowerCase() !== TRANSFER_TOPIC) return null;
  const from = topicAddress(String(log.topics[1]));
  const to = topicAddress(String(log.topics[2]));
  if (!from || !to || typeof log.address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(log.address)) return null;
  if (typeof log.data !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(log.data)) return null;
  const value = BigInt(log.data);
  const blockNumber = quantity(log.blockNumber);
  const logIndex = quantity(log.logIndex);
  const txid = typeof log.transactionHash === 'string' && /^0x[0-9a-fA-F]{64}$/.test(log.transactionHash) ? log.transactionHash.toLowerCase() : null;
  if (blockNumber === null || logIndex === null || txid === null || value > MAX_BIGINT_64 || logIndex > 2_147_483_647n) return null;
  return { contract: log.address.toLowerCase(), from, to, value, txid, logIndex: Number(logIndex), blockNumber };
}

/** The 32-byte data word of an amount (what a Transfer log carries). */
export function amountWord(value: bigint): string {
  return `0x${value.toString(16).padStart(64, '0')}`;
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function doubleSha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest();
}

export function base58Encode(bytes: Buffer): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  while (value > 0n) {
    out = BASE58[Number(value % 58n)] + out;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = `1${out}`;
  }
  return out;
}

export function base58Decode(text: string): Buffer | null {
  let value = 0n;
  for (const char of text) {
    const digit = BASE58.indexOf(char);
    if (digit < 0) return null;
    value = value * 58n + BigInt(digit);
  }
  const hex = value === 0n ? '' : value.toString(16);
  const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const zeros = text.match(/^1*/)![0].length;
  return Buffer.concat([Buffer.alloc(zeros), body]);
}

/** A TRON address (base58check, `T…`) from its 20 bytes, given as 0x hex, 41-prefixed hex or bare hex. */
export function tronAddressFromHex(hex: string): string | null {
  const clean = hex.toLowerCase().replace(/^0x/, '');
  const body = /^41[0-9a-f]{40}$/.test(clean) ? clean : /^[0-9a-f]{40}$/.test(clean) ? `41${clean}` : null;
  if (!body) return null;
  const payload = Buffer.from(body, 'hex');
  return base58Encode(Buffer.concat([payload, doubleSha256(payload).subarray(0, 4)]));
}

/** The 20 bytes of a TRON address as lower-case hex (no prefix), or null when it is not a checksummed `T…` address. */
export function tronAddressHex(address: string): string | null {
  if (!/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(address)) return null;
  const bytes = base58Decode(address);
  if (!bytes || bytes.length !== 25 || bytes[0] !== 0x41) return null;
  if (!doubleSha256(bytes.subarray(0, 21)).subarray(0, 4).equals(bytes.subarray(21))) return null;
  return bytes.subarray(1, 21).toString('hex');
}

/** Any spelling of a TRON address (base58, 0x hex, 41 hex) as its 20 bytes in hex, for comparisons. */
export function tronAddressKey(address: string): string | null {
  if (address.startsWith('T')) return tronAddressHex(address);
  const clean = address.toLowerCase().replace(/^0x/, '');
  if (/^41[0-9a-f]{40}$/.test(clean)) return clean.slice(2);
  if (/^[0-9a-f]{40}$/.test(clean)) return clean;
  return null;
}
