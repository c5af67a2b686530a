import type { TestApp } from './app.js';
import type { ReserveInput } from '../../src/modules/wallet/types.js';

/** Reserves a hold on a fresh task row through the wallet's hot-path function, as the task engine will. */
export async function reserveTask(
  app: TestApp,
  input: { customerId: string; keyId: string; cost: number; mode?: 'live' | 'test' } & Partial<Omit<ReserveInput, 'cost' | 'mode'>>,
) {
  const now = app.deps.clock.now();
  const taskId = input.taskId ?? app.deps.ids('task');
  const result = await app.deps.wallet.reserve({
    taskId,
    reservationId: input.reservationId ?? app.deps.ids('res'),
    customerId: input.customerId,
    mode: input.mode ?? 'live',
    apiKeyId: input.keyId,
    maxConcurrency: input.maxConcurrency ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    fingerprint: input.fingerprint ?? null,
    cost: BigInt(input.cost),
    now,
    expiresAt: input.expiresAt ?? new Date(now.getTime() + 600_000),
    hardDeadline: input.hardDeadline ?? new Date(now.getTime() + 3_600_000),
    type: input.type ?? 'video',
    model: input.model ?? 'test-model',
    request: input.request ?? {},
    ...(input.initialStatus ? { initialStatus: input.initialStatus } : {}),
    ...(input.leaseOwner ? { leaseOwner: input.leaseOwner } : {}),
    ...(input.leaseUntil ? { leaseUntil: input.leaseUntil } : {}),
  });
  return { ...result, requestedId: taskId };
}

export async function walletState(app: TestApp, customerId: string, mode: 'live' | 'test' = 'live') {
  const balance = await app.deps.wallet.balance(customerId, mode);
  return { balance: Number(balance.balance), reserved: Number(balance.reserved), available: Number(balance.available) };
}
