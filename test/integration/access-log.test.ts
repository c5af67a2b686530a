import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../harness/app.js';

/**
 * Access logging: one line per request, written when the answer is sent, with the request id the client got in
 * `X-Request-Id`, the method, the path, the status and the time taken (issue 14: Fastify's two lines per request
 * were a measurable share of the CPU under load).
 */
const lines: Array<Record<string, any>> = [];
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ logStream: { write: (line) => void lines.push(JSON.parse(line)) } });
});

afterAll(async () => {
  await app?.close();
});

describe('access log', () => {
  it('writes exactly one line per answered request, with its id, route, status and time', async () => {
    const customer = await app.createCustomer();
    const key = await app.createKey(customer.id);
    const answers = [
      await app.request('GET', '/v1/usage', { key: key.key }),
      await app.request('GET', '/v1/usage', { key: 'sk-wrong' }),
      await app.request('POST', '/v1/videos', { key: key.key, body: { model: 'no-such-model', prompt: 'x' } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 400]);
    for (const answer of answers) {
      const id = answer.headers.get('x-request-id');
      // The line may follow the answer by a moment: up to 10 s (only a failure waits that long).
      await expect.poll(() => lines.filter((line) => line.reqId === id && line.msg === 'request completed').length, { timeout: 10_000 }).toBe(1);
      const line = lines.find((candidate) => candidate.reqId === id && candidate.msg === 'request completed')!;
      expect(line.res.statusCode).toBe(answer.status);
      expect(line.req.method).toMatch(/^(GET|POST)$/);
      expect(line.req.url).toMatch(/^\/v1\/(usage|videos)$/);
      expect(line.req.remoteAddress).toMatch(/127\.0\.0\.1/);
      expect(typeof line.responseTime).toBe('number');
      expect(line.responseTime).toBeGreaterThanOrEqual(0);
    }
    expect(lines.some((line) => line.msg === 'incoming request')).toBe(false);
  });
});
