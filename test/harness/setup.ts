import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './app.js';

/**
 * One app per test file; after every test the ledger invariants (SEMANTICS §5.2) must hold.
 * Usage: `const ctx = useTestApp();` then `ctx.app` inside tests.
 */
export function useTestApp(options: TestAppOptions = {}): { app: TestApp } {
  const context = {} as { app: TestApp };
  beforeAll(async () => {
    context.app = await startTestApp(options);
  });
  afterEach(async () => {
    expect(await context.app.invariants()).toEqual({});
  });
  afterAll(async () => {
    await context.app?.close();
  });
  return context;
}

/** The `/v1` error body (SEMANTICS E1). */
export function expectV1Error(response: { status: number; body: any; headers: Headers }, status: number, code: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body.error.code).toBe(code);
  expect(response.body.error.request_id).toBe(response.headers.get('x-request-id'));
  expect(typeof response.body.error.message).toBe('string');
  expect(typeof response.body.error.type).toBe('string');
}
