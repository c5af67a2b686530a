import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

describe('configuration (API.md §10)', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBeNull();
    expect(config.role).toBe('all');
    expect(config.demo).toBe(true);
    expect(config.apiKeyPrefix).toBe('ak');
    expect(config.idempotencyRetentionMs).toBe(72 * 3600_000);
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:8080');
    expect(config.adminEmail).toBe('admin@localhost');
    expect(config.consoleDir).toMatch(/[\\/]dist[\\/]console$/);
    expect(config.workerSlots).toBe(100);
    expect(config.pollSlots).toBe(1000);
    expect(config.trackCommits).toBe(false);
    expect(parseConfig({ TRACK_COMMITS: 'true' }).trackCommits).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('payments are off by default and take their documented defaults when configured (issue 13)', () => {
    const none = parseConfig({});
    expect(none).toMatchObject({ stripeSecretKey: null, usdtTronAddresses: [], usdtEvmAddresses: [], topupWindowMs: 30 * 60_000, tronConfirmations: 19, evmConfirmations: null });
    const on = parseConfig({
      STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x', USDT_TRON_ADDRESSES: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
      USDT_EVM_ADDRESSES: '0xABCDEF1111111111111111111111111111111111', EVM_RPC_URL: 'http://127.0.0.1:9/evm', EVM_CONFIRMATIONS: '12',
    });
    expect(on).toMatchObject({ stripeApiBase: 'https://api.stripe.com', trongridUrl: 'https://api.trongrid.io', evmNetwork: 'ethereum', evmConfirmations: 12 });
    expect(on.usdtEvmAddresses).toEqual(['0xabcdef1111111111111111111111111111111111']);
  });

  it('turns the demo off by default on PostgreSQL', () => {
    expect(parseConfig({ DATABASE_URL: 'postgres://localhost/x' }).demo).toBe(false);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ GENRELAY_ROLE: 'boss' }, 'GENRELAY_ROLE'],
    [{ API_KEY_PREFIX: 'A' }, 'API_KEY_PREFIX'],
    [{ IDEMPOTENCY_RETENTION: '1h' }, 'IDEMPOTENCY_RETENTION'],
    [{ IDEMPOTENCY_RETENTION: 'soon' }, 'IDEMPOTENCY_RETENTION'],
    [{ TRUSTED_PROXIES: '10.0.0.0/8,nonsense' }, 'TRUSTED_PROXIES'],
    [{ DEMO: 'maybe' }, 'DEMO'],
    [{ OPERATOR_API_KEY: 'short' }, 'OPERATOR_API_KEY'],
    [{ ADMIN_EMAIL: 'not an email' }, 'ADMIN_EMAIL'],
    [{ STRIPE_SECRET_KEY: 'sk_test_x' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x', STRIPE_API_BASE: 'ftp://x' }, 'STRIPE_API_BASE'],
    // A base58 TRON address whose checksum is wrong (last character changed).
    [{ USDT_TRON_ADDRESSES: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u' }, 'USDT_TRON_ADDRESSES'],
    [{ USDT_TRON_ADDRESSES: '0x1111111111111111111111111111111111111111' }, 'USDT_TRON_ADDRESSES'],
    [{ USDT_EVM_ADDRESSES: '0x1111' }, 'USDT_EVM_ADDRESSES'],
    [{ USDT_EVM_ADDRESSES: '0x1111111111111111111111111111111111111111' }, 'EVM_RPC_URL'],
    [{ USDT_EVM_ADDRESSES: '0x1111111111111111111111111111111111111111', EVM_RPC_URL: 'http://x', PRICE_CURRENCY: 'EUR' }, 'PRICE_CURRENCY'],
    [{ TOPUP_WINDOW: '10s' }, 'TOPUP_WINDOW'],
    [{ TOPUP_WINDOW: '2d' }, 'TOPUP_WINDOW'],
    [{ EVM_CONFIRMATIONS: '0' }, 'EVM_CONFIRMATIONS'],
  ])('fails fast on %o', (env, variable) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(variable);
  });
});
