import { describe, expect, it } from 'vitest';
import { clientAddress, matchesAny, parseCidr, type Cidr } from '../../src/lib/ip.js';

const cidrs = (...list: string[]): Cidr[] => list.map((item) => parseCidr(item)!);

describe('IP allow-lists and trusted proxies (K9)', () => {
  it('matches IPv4 and IPv6 CIDRs and normalises IPv4-mapped peers', () => {
    const list = cidrs('203.0.113.0/24', '2001:db8::/32');
    expect(matchesAny('203.0.113.9', list)).toBe(true);
    expect(matchesAny('::ffff:203.0.113.9', list)).toBe(true);
    expect(matchesAny('198.51.100.7', list)).toBe(false);
    expect(matchesAny('2001:db8::1', list)).toBe(true);
    expect(matchesAny('not-an-ip', list)).toBe(false);
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientAddress('198.51.100.7', '203.0.113.9', [])).toBe('198.51.100.7');
    expect(clientAddress('198.51.100.7', '203.0.113.9', cidrs('10.0.0.0/8'))).toBe('198.51.100.7');
  });

  it('takes the rightmost untrusted hop behind trusted proxies', () => {
    const trusted = cidrs('10.0.0.0/8');
    expect(clientAddress('10.0.0.2', '1.2.3.4, 203.0.113.9, 10.0.0.5', trusted)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:10.0.0.2', '203.0.113.9', trusted)).toBe('203.0.113.9');
  });

  it('gives a peer the same canonical address every time, also past the memo\'s size', () => {
    for (let round = 0; round < 2; round += 1) {
      expect(clientAddress('::ffff:198.51.100.7', undefined, [])).toBe('198.51.100.7');
      expect(clientAddress('2001:0db8:0000:0000:0000:0000:0000:0001', undefined, [])).toBe('2001:db8::1');
      expect(clientAddress('not-an-ip', undefined, [])).toBe('not-an-ip');
    }
    for (let index = 0; index < 10_050; index += 1) {
      const peer = `::ffff:10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
      expect(clientAddress(peer, undefined, [])).toBe(peer.slice(7));
    }
    expect(clientAddress('::ffff:198.51.100.7', undefined, [])).toBe('198.51.100.7');
  });
});
