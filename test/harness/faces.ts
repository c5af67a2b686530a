import { expect } from 'vitest';
import { makePng } from '../../src/providers/sandbox/media.js';
import type { TestApp } from './app.js';

/**
 * Shared by the face suites (test/integration/faces-*.test.ts): id shapes, Idempotency-Key headers, inline PNG
 * references, the jobs face's `ok:false` check and the "nothing stored" check (I8) every rejection must pass.
 */
export const JOB_ID = /^job_[0-9A-Za-z]{22}$/;
export const TASK_ID = /^task_[0-9A-Za-z]{22}$/;

let idemCounter = 0;
export function idem(): Record<string, string> {
  idemCounter += 1;
  return { 'idempotency-key': `faces-${process.pid}-${idemCounter}` };
}

export function pngDataUrl(seed = 'ref', size = 32): string {
  return `data:image/png;base64,${makePng(seed, { width: size, height: size }).toString('base64')}`;
}

export function stripeOk(body: any) {
  expect(body.ok).toBe(false);
}

/** Checks bound to one file's app (`useTestApp()`'s context, read lazily: the app starts in `beforeAll`). */
export function faceChecks(ctx: { app: TestApp }) {
  const FILE_URL = () => new RegExp(`^${ctx.app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`);

  async function taskCount(customerId: string): Promise<number> {
    const result = await ctx.app.deps.db.query<{ count: string | bigint }>('SELECT COUNT(*) AS count FROM tasks WHERE customer_id = $1', [customerId]);
    return Number(result.rows[0]!.count);
  }

  async function fileCount(customerId: string): Promise<number> {
    const result = await ctx.app.deps.db.query<{ count: string | bigint }>('SELECT COUNT(*) AS count FROM files WHERE customer_id = $1', [customerId]);
    return Number(result.rows[0]!.count);
  }

  /** I8: no task row, no file, no reservation — checked in the database and through the customer's own reads. */
  async function expectNothingStored(customerId: string, readKey: string, balance: number): Promise<void> {
    expect(await taskCount(customerId)).toBe(0);
    expect(await fileCount(customerId)).toBe(0);
    const list = await ctx.app.request('GET', '/v1/tasks', { key: readKey });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([]);
    const usage = await ctx.app.request('GET', '/v1/usage', { key: readKey });
    expect(usage.body).toMatchObject({ creditsBalance: balance, creditsReserved: 0, creditsAvailable: balance });
  }

  return { FILE_URL, taskCount, fileCount, expectNothingStored };
}
