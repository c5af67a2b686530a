import type { TestApp } from './app.js';
import type { ReserveInput } from '../../src/modules/wallet/types.js';

/** Reserves a hold on a fresh task row through the wallet's hot-path function, as the task engine will. */
export type ReserveFor = { customerId: string; keyId: string; cost: number; mode?: 'live' | 'test' } & Partial<Omit<ReserveInput, 'cost' | 'mode'>>;

/** A reservation input as the task engine builds it: the given fields, the rest defaulted (a video of test-model). */
export function reserveInput(app: TestApp, input: ReserveFor): ReserveInput {
  const { customerId, keyId, cost, mode, ...given } = input;
  const now = input.now ?? app.deps.clock.now();
  const defaults: ReserveInput = {
    taskId: app.deps.ids('task'),
    reservationId: app.deps.ids('res'),
    customerId,
    mode: mode ?? 'live',
    apiKeyId: keyId,
    maxConcurrency: null,
    idempotencyKey: null,
    fingerprint: null,
    cost: BigInt(cost),
    now,
    expiresAt: new Date(now.getTime() + 600_000),
    hardDeadline: new Date(now.getTime() + 3_600_000),
    type: 'video',
    model: 'test-model',
    request: {},
  };
  // Every other field given (callback URL, metadata, face, price version, initial status, lease, …) as it is.
  return { ...defaults, ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) };
}

export async function reserveTask(app: TestApp, input: ReserveFor) {
  const reserve = reserveInput(app, input);
  const result = await app.deps.wallet.reserve(reserve);
  return { ...result, requestedId: reserve.taskId };
}

export async function walletState(app: TestApp, customerId: string, mode: 'live' | 'test' = 'live') {
  const balance = await app.deps.wallet.balance(customerId, mode);
  return { balance: Number(balance.balance), reserved: Number(balance.reserved), available: Number(balance.available) };
}

export type CaseRow = Record<string, any> & { case: number };

/**
 * Rows of two worlds made comparable (the differential tests of the group functions): each row's `column` (a task id)
 * becomes the index of its case in `ids`, the world's customer id inside any other text becomes `C`, and the rows are
 * sorted by case, then by content.
 */
export function rowsByCase(rows: Array<Record<string, any>>, column: string, ids: string[], customerId: string): CaseRow[] {
  return rows
    .map(({ [column]: id, ...rest }): CaseRow => ({
      case: ids.indexOf(String(id)),
      ...Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, typeof value === 'string' ? value.replaceAll(customerId, 'C') : value])),
    }))
    .sort((a, b) => a.case - b.case || JSON.stringify(a, (_key, value) => (typeof value === 'bigint' ? String(value) : value))
      .localeCompare(JSON.stringify(b, (_key, value) => (typeof value === 'bigint' ? String(value) : value))));
}
