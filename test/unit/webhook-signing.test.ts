import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  classifyResponse,
  MAX_ATTEMPTS,
  nextAttemptAt,
  parseRetryAfter,
  RETRY_DELAYS_MS,
} from '../../src/modules/webhooks/schedule.js';
import { generateMessageId, generateWebhookSecret, sign, webhookHeaders } from '../../src/modules/webhooks/signing.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

describe('webhook signing (SEMANTICS H1–H4)', () => {
  it('C46: the Standard Webhooks test vector produces the published signature', () => {
    const signature = sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs a Buffer body exactly like the same bytes as a string', () => {
    const secret = generateWebhookSecret();
    const body = '{"emoji":"é✓"}';
    expect(sign(secret, 'msg_x', 1, Buffer.from(body, 'utf8'))).toBe(sign(secret, 'msg_x', 1, body));
  });

  it('headers verify with the reference library and fail for a tampered body', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'task.succeeded', data: { id: 'task_1' } });
    const headers = webhookHeaders([secret], generateMessageId(), nowSeconds(), body);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe('genrelay-webhooks/1');
    expect(headers['webhook-timestamp']).toMatch(/^\d+$/);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(body.replace('task_1', 'task_2'), headers)).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('C48: during rotation both secrets sign and a receiver holding either one verifies', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const body = Buffer.from('{"status":"succeeded"}', 'utf8');
    const headers = webhookHeaders([oldSecret, newSecret], generateMessageId(), nowSeconds(), body);
    const values = headers['webhook-signature']!.split(' ');
    expect(values).toHaveLength(2);
    for (const value of values) expect(value).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
  });

  it('refuses malformed input rather than producing an unverifiable signature', () => {
    expect(() => webhookHeaders([], 'msg_x', 1, '{}')).toThrow();
    expect(() => sign('whsec_not base64!', 'msg_x', 1, '{}')).toThrow();
    expect(() => sign(generateWebhookSecret(), 'msg_a.b', 1, '{}')).toThrow();
    expect(() => sign(generateWebhookSecret(), 'msg_x', 1.5, '{}')).toThrow();
  });

  it('generated secrets are whsec_ + base64 of 32 bytes (H3)', () => {
    for (let index = 0; index < 100; index += 1) {
      const secret = generateWebhookSecret();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    }
  });

  it('message ids are msg_ + 26 base62 characters, unique, without "." (H1)', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 1000; index += 1) {
      const id = generateMessageId();
      expect(id).toMatch(/^msg_[0-9A-Za-z]{26}$/);
      expect(id).not.toContain('.');
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });
});

describe('delivery schedule (SEMANTICS H8–H10)', () => {
  const now = new Date('2025-01-01T00:00:00.000Z');
  const noJitter = { random: () => 0.5 };

  it('without jitter the delays are exactly 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; attempt 8 is the last', () => {
    const expected = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];
    expect(RETRY_DELAYS_MS).toEqual(expected);
    expect(MAX_ATTEMPTS).toBe(8);
    expected.forEach((delay, index) => {
      expect(nextAttemptAt(index + 1, now, noJitter)!.getTime() - now.getTime()).toBe(delay);
    });
    expect(nextAttemptAt(8, now, noJitter)).toBeNull();
    expect(nextAttemptAt(8, now, { ...noJitter, retryAfterSeconds: 60 })).toBeNull();
  });

  it('jitter stays within ±10 % of each delay', () => {
    for (const random of [() => 0, () => 0.999_999, () => 0.25, Math.random]) {
      RETRY_DELAYS_MS.forEach((delay, index) => {
        const offset = nextAttemptAt(index + 1, now, { random })!.getTime() - now.getTime();
        expect(offset).toBeGreaterThanOrEqual(Math.floor(delay * 0.9));
        expect(offset).toBeLessThanOrEqual(Math.ceil(delay * 1.1));
      });
    }
    expect(nextAttemptAt(1, now, { random: () => 0 })!.getTime() - now.getTime()).toBe(4_500);
  });

  it('Retry-After wins when later, is ignored when earlier and is capped at 24 h', () => {
    const later = nextAttemptAt(1, now, { ...noJitter, retryAfterSeconds: 120 });
    expect(later!.getTime() - now.getTime()).toBe(120 * SECOND);
    const earlier = nextAttemptAt(3, now, { ...noJitter, retryAfterSeconds: 60 });
    expect(earlier!.getTime() - now.getTime()).toBe(30 * MINUTE);
    const capped = nextAttemptAt(1, now, { ...noJitter, retryAfterSeconds: 7 * 24 * 3600 });
    expect(capped!.getTime() - now.getTime()).toBe(24 * HOUR);
    const none = nextAttemptAt(1, now, { ...noJitter, retryAfterSeconds: null });
    expect(none!.getTime() - now.getTime()).toBe(5 * SECOND);
  });

  it('classifies answers: 2xx delivered, 410 gone, everything else (3xx included) retried', () => {
    const cases: Array<[number, string]> = [
      [200, 'delivered'], [204, 'delivered'], [299, 'delivered'],
      [301, 'retry'], [302, 'retry'], [400, 'retry'], [410, 'gone'], [429, 'retry'], [500, 'retry'],
    ];
    for (const [status, outcome] of cases) expect(classifyResponse(status)).toBe(outcome);
  });

  it('parses Retry-After as delta-seconds or an HTTP-date; garbage is null', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(['30', '60'], now)).toBe(30);
    const httpDate = new Date(now.getTime() + 90 * SECOND).toUTCString();
    expect(parseRetryAfter(httpDate, now)).toBe(90);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Wednesday, 01-Jan-25 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Wed Jan  1 00:01:30 2025', now)).toBe(90);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    for (const garbage of ['soon', '1.5', '-5', '', '120abc', 'Wed, 99 Foo 2025 99:99:99 GMT', undefined]) {
      expect(parseRetryAfter(garbage, now)).toBeNull();
    }
  });
});
