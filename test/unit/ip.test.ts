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
});
