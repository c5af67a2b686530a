import { describe, expect, it } from 'vitest';
import { issueKey, keyFromBytes, parseKey } from '../../src/modules/keys/key-format.js';

describe('API key format (SEMANTICS K1–K3)', () => {
  it('C2: the K1 test vector produces the published key, checksum and hash', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, index) => index);
    const issued = keyFromBytes('ak', 'test', bytes);
    expect(issued.key).toBe('ak_test_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf1Yo7hP');
    expect(issued.key.endsWith('1Yo7hP')).toBe(true);
    expect(issued.hash).toBe('77ab84bb204b518f5db733d400c8a9c7fa6d1b75a840f2ea87c88bcc64fbd986');
    expect(issued.displayPrefix).toBe('ak_test_003a');
    expect(parseKey('ak', issued.key)).toBe('test');
  });

  it('C3: 10 000 keys match the published regex, are unique and pass their checksum', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 10_000; index += 1) {
      const { key } = issueKey('ak', index % 2 ? 'live' : 'test');
      expect(key).toMatch(/^ak_(live|test)_[0-9A-Za-z]{49}$/);
      expect(parseKey('ak', key)).not.toBeNull();
      seen.add(key);
    }
    expect(seen.size).toBe(10_000);
  });

  it('C3: changing any one character of a key breaks it', () => {
    const { key } = issueKey('ak', 'live');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let position = 8; position < key.length; position += 1) {
      const original = key[position]!;
      const replacement = alphabet[(alphabet.indexOf(original) + 7) % 62]!;
      const changed = key.slice(0, position) + replacement + key.slice(position + 1);
      expect(parseKey('ak', changed)).toBeNull();
    }
  });

  it('rejects other prefixes, modes, lengths and alphabets', () => {
    const { key } = issueKey('ak', 'live');
    expect(parseKey('ak', key.replace('ak_', 'sk_'))).toBeNull();
    expect(parseKey('ak', key.replace('_live_', '_prod_'))).toBeNull();
    expect(parseKey('ak', `${key}0`)).toBeNull();
    expect(parseKey('ak', key.slice(0, -1))).toBeNull();
    expect(parseKey('ak', `${key.slice(0, -1)}-`)).toBeNull();
    expect(parseKey('ak', '')).toBeNull();
    expect(parseKey('ak', 'x'.repeat(10_000))).toBeNull();
  });

  it('supports a custom prefix', () => {
    const issued = issueKey('acme', 'test');
    expect(issued.key.startsWith('acme_test_')).toBe(true);
    expect(parseKey('acme', issued.key)).toBe('test');
    expect(parseKey('ak', issued.key)).toBeNull();
  });
});
