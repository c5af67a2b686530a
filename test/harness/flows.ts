import type { TestApp } from './app.js';

/** Helpers for driving tasks end to end with the manual clock and the worker's single rounds. */
export async function testCustomer(app: TestApp, credits = 1_000_000, keyBody: Record<string, unknown> = {}) {
  const customer = await app.createCustomer();
  const key = await app.createKey(customer.id, { mode: 'test', ...keyBody });
  if (credits > 0) await app.grant(customer.id, credits, 'test');
  return { customer, key: key.key as string, keyId: key.id as string, customerId: customer.id as string };
}

/** Runs worker rounds, advancing the clock between them, until the task is terminal or `maxSteps` pass. */
export async function runUntilDone(app: TestApp, taskId: string, stepMs = 600, maxSteps = 40): Promise<any> {
  for (let step = 0; step < maxSteps; step += 1) {
    await app.worker.drain();
    const task = await app.deps.tasks.get(taskId);
    if (task && ['succeeded', 'failed', 'cancelled', 'expired'].includes(task.status)) return task;
    app.clock.advance(stepMs);
  }
  return app.deps.tasks.get(taskId);
}

/**
 * Credit leases (issue 14): gives back the app's idle leases, as their upkeep does once no request has been in flight
 * on them for CREDIT_LEASE_IDLE_MS — after which a wallet's `reserved` is only its requests' own holds again.
 */
export async function returnIdleLeases(app: TestApp): Promise<void> {
  app.clock.advance(app.deps.config.creditLeaseIdleMs);
  await app.deps.leases?.maintain();
}

export async function testWallet(app: TestApp, customerId: string) {
  const balance = await app.deps.wallet.balance(customerId, 'test');
  return { balance: Number(balance.balance), reserved: Number(balance.reserved) };
}

/**
 * For live tasks on mock upstreams, whose clocks run in real time: worker rounds with short real pauses (the
 * manual clock moves too, so polls and backoffs fall due) until the task is terminal.
 */
export async function runLiveUntilDone(app: TestApp, taskId: string, maxSteps = 300): Promise<any> {
  for (let step = 0; step < maxSteps; step += 1) {
    await app.worker.drain();
    const task = await app.deps.tasks.get(taskId);
    if (task && ['succeeded', 'failed', 'cancelled', 'expired'].includes(task.status)) return task;
    app.clock.advance(1000);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  throw new Error('task did not finish');
}
