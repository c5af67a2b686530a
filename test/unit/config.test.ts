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
    expect(Object.isFrozen(config)).toBe(true);
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
  ])('fails fast on %o', (env, variable) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(variable);
  });
});
